"""Write endpoints (a helper is building these)."""

from __future__ import annotations

from .base import ApiView


class Studies(ApiView):
    pass


class Assignments(ApiView):
    pass


class Answer(ApiView):
    pass


class Submit(ApiView):
    pass
