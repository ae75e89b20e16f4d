"""Django admin: instrument criteria editable as drafts, read-only once published.

`instruments` registers the catalogue (with its own pages in `pages`), `records`
the workflow records; Django's autodiscovery imports this package.
"""

from . import instruments, records

__all__ = ["instruments", "records"]
