"""Django admin: instrument criteria editable as drafts, read-only once published.

`instruments` registers the catalogue (with its own pages in `pages`), `records`
the workflow records, `calibration` the drills and calibration records,
`crosswalk` the mapping between instruments, `identity` the institutional
sign-ins (read-only);
Django's autodiscovery imports this package.
"""

from . import calibration, crosswalk, identity, instruments, records

__all__ = ["calibration", "crosswalk", "identity", "instruments", "records"]
