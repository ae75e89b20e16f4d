"""The REST API under /api/v1/: the same services, selectors and access rules
as the pages, spoken in JSON (docs/api.md)."""
