"""Django admin: instrument criteria editable as drafts, read-only once published.

`instruments` registers the catalogue (with its own pages in `pages`), `records`
the workflow records, `calibration` the drills and calibration records;
Django's autodiscovery imports this package.
"""

from . import calibration, instruments, records

__all__ = ["calibration", "instruments", "records"]
