"""Quotes from a study's paper, as part of an answer: checked, verified, stamped.

A quote arrives from the form (or the API) as the W3C Web Annotation selectors
the browser could build: the page, the exact text, a little text before and
after. The server decides the rest: whether the quote really is on that page
of the stored text (and where: the TextPositionSelector offsets), which paper
and file it belongs to, who made it and when. A quote that is not on its page
is kept, marked not found, so a reviewer's evidence is never thrown away.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..models import Answer, Paper, PaperText, Study
from ..papers.quotes import locate
from .changes import bump_data_revision

MAX_QUOTES = 30
MAX_EXACT = 5_000
MAX_AFFIX = 200
_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class QuoteInput:
    paper: str
    page: int
    exact: str
    prefix: str = ""
    suffix: str = ""
    id: str = ""


def parse_quotes(raw: str, item_code: str) -> tuple[QuoteInput, ...]:
    """The form's `quotes` field (a JSON array) as inputs; refuse malformed ones."""
    code = {"code": item_code}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValidationError(_unreadable(item_code)) from None
    if not isinstance(data, list):
        raise ValidationError(_unreadable(item_code))
    if len(data) > MAX_QUOTES:
        raise ValidationError(
            _("The quotes of item %(code)s: at most %(most)s quotes per item.")
            % {**code, "most": MAX_QUOTES}
        )
    return tuple(_quote_input(q, item_code) for q in data)


def _unreadable(item_code: str) -> str:
    return _("The quotes of item %(code)s could not be read.") % {"code": item_code}


def _quote_input(raw: Any, item_code: str) -> QuoteInput:
    code = {"code": item_code}
    if not isinstance(raw, dict):
        raise ValidationError(_unreadable(item_code))
    try:
        page = int(raw.get("page", ""))
    except (TypeError, ValueError):
        raise ValidationError(
            _("The quotes of item %(code)s: a quote has no page number.") % code
        ) from None
    texts = {k: raw.get(k) or "" for k in ("paper", "exact", "prefix", "suffix", "id")}
    if not all(isinstance(v, str) for v in texts.values()):
        raise ValidationError(_unreadable(item_code))
    if not texts["exact"].strip():
        raise ValidationError(
            _("The quotes of item %(code)s: a quote has no text.") % code
        )
    if len(texts["exact"]) > MAX_EXACT:
        raise ValidationError(
            _(
                "The quotes of item %(code)s: a quote is longer than %(most)s "
                "characters."
            )
            % {**code, "most": number_format(MAX_EXACT, force_grouping=True)}
        )
    return QuoteInput(
        paper=texts["paper"],
        page=page,
        exact=texts["exact"],
        prefix=texts["prefix"][-MAX_AFFIX:],
        suffix=texts["suffix"][:MAX_AFFIX],
        id=texts["id"] if _ID.match(texts["id"]) else "",
    )


def resolve_quotes(
    *,
    study: Study,
    item_code: str,
    incoming: tuple[QuoteInput, ...],
    existing: list[dict[str, Any]],
    user: Any,
) -> list[dict[str, Any]]:
    """The answer's new list of quotes: kept ones as stored, new ones verified."""
    kept = {q.get("id"): q for q in existing}
    papers = _papers(study, item_code, incoming)
    texts: dict[int, list[str] | None] = {}
    now = timezone.now().isoformat()
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for q in incoming:
        old = kept.get(q.id) if q.id else None
        if old is not None and _same(old, q) and q.id not in seen:
            result.append(old)
            seen.add(q.id)
            continue
        paper = papers[q.paper]
        if q.page < 1 or (paper.page_count and q.page > paper.page_count):
            raise ValidationError(
                _(
                    "The quotes of item %(code)s: page %(page)s is not in the "
                    "paper, which has %(pages)s pages."
                )
                % {"code": item_code, "page": q.page, "pages": paper.page_count}
            )
        if paper.pk not in texts:
            texts[paper.pk] = stored_pages(paper)
        quote_id = q.id if q.id and q.id not in seen else uuid.uuid4().hex
        seen.add(quote_id)
        result.append(
            {
                "id": quote_id,
                "paper": str(paper.uuid),
                "sha256": paper.sha256,
                "page": q.page,
                "exact": q.exact,
                "prefix": q.prefix,
                "suffix": q.suffix,
                **verification(texts[paper.pk], q.page, q.exact, q.prefix, q.suffix),
                "by": getattr(user, "get_username", lambda: "")(),
                "at": now,
            }
        )
    return result


def _same(old: dict[str, Any], q: QuoteInput) -> bool:
    return (old.get("paper"), old.get("page"), old.get("exact")) == (
        q.paper,
        q.page,
        q.exact,
    )


def _papers(
    study: Study, item_code: str, incoming: tuple[QuoteInput, ...]
) -> dict[str, Paper]:
    wanted = {q.paper for q in incoming}
    found: dict[str, Paper] = {}
    ids = []
    for value in wanted:
        with contextlib.suppress(ValueError):
            ids.append(uuid.UUID(value))
    for paper in Paper.objects.filter(study=study, uuid__in=ids):
        found[str(paper.uuid)] = paper
        found[paper.uuid.hex] = paper
    missing = wanted - set(found)
    if missing:
        raise ValidationError(
            _(
                "The quotes of item %(code)s come from a paper that is not "
                "attached to this study."
            )
            % {"code": item_code}
        )
    return found


def stored_pages(paper: Paper) -> list[str] | None:
    """The extracted page texts, or None while they are not there yet."""
    text = PaperText.objects.filter(paper=paper).only("pages").first()
    return None if text is None else list(text.pages)


def verification(
    pages: list[str] | None, page: int, exact: str, prefix: str, suffix: str
) -> dict[str, Any]:
    """Where the quote is on its page; `verified` None until the text exists."""
    if pages is None:
        return {"start": None, "end": None, "verified": None}
    if not 1 <= page <= len(pages):
        return {"start": None, "end": None, "verified": False}
    span = locate(pages[page - 1], exact, prefix, suffix)
    if span is None:
        return {"start": None, "end": None, "verified": False}
    return {"start": span.start, "end": span.end, "verified": True}


def verify_pending_quotes(paper: Paper) -> int:
    """Check the quotes made before the paper's text was extracted.

    Only the server's verdict changes (no one's words), so the answers'
    revisions and histories stay as they are.
    """
    pages = stored_pages(paper)
    if pages is None:
        return 0
    key = str(paper.uuid)
    checked = 0
    answers = Answer.objects.filter(assessment__study_id=paper.study_id).exclude(
        quotes=[]
    )
    for answer in answers.only("pk", "quotes"):
        changed = False
        for q in answer.quotes:
            if q.get("paper") == key and q.get("verified") is None:
                q.update(
                    verification(pages, q["page"], q["exact"], q["prefix"], q["suffix"])
                )
                changed = True
                checked += 1
        if changed:
            Answer.objects.filter(pk=answer.pk).update(quotes=answer.quotes)
    if checked:
        # Reports made before the verdicts said "not checked yet".
        bump_data_revision(paper.study.project_id)
    return checked
