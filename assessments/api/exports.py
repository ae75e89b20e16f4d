"""Exports through the API."""

from __future__ import annotations

from .base import ApiView


class Export(ApiView):
    pass
