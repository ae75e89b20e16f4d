"""Reviewers' stable pseudonyms per project (R1, R2, ...) for shared exports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from ..models import Project, ReviewerCode


def reviewer_codes(project: Project, user_ids: Iterable[Any]) -> dict[Any, str]:
    """Each reviewer's code, giving the next free one to anyone without.

    Codes never change once given, so a file shared with a paper and one
    made a year later name the same reviewer the same way. New codes follow
    the order of the users' ids, so two exports made at once agree.
    """
    wanted = sorted({u for u in user_ids if u is not None})
    for _ in range(3):
        codes = dict(
            ReviewerCode.objects.filter(project=project).values_list("user_id", "code")
        )
        missing = [u for u in wanted if u not in codes]
        if not missing:
            return {u: codes[u] for u in wanted}
        try:
            with transaction.atomic():
                n = ReviewerCode.objects.filter(project=project).count()
                ReviewerCode.objects.bulk_create(
                    ReviewerCode(project=project, user_id=u, code=f"R{n + i + 1}")
                    for i, u in enumerate(missing)
                )
        except IntegrityError:
            continue  # another export gave codes at the same moment: read them
    codes = dict(
        ReviewerCode.objects.filter(project=project).values_list("user_id", "code")
    )
    return {u: codes[u] for u in wanted if u in codes}
