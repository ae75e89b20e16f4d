"""Write endpoints (a helper is building these)."""

from __future__ import annotations

from . import read
from .base import ApiView


class Studies(read.StudyList):
    pass


class Assignments(ApiView):
    pass


class Answer(ApiView):
    pass


class Submit(ApiView):
    pass
