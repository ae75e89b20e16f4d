"""A study's paper: upload (checked, hashed, stored privately), text extraction,
and the evidence finder's cached candidates.

The PDF is checked before anything is kept: a file that is too large, not a
PDF or that the extractor cannot open leaves no row and no file. Text is
extracted later, in a Celery task (run_extraction), so an upload never waits
for it; a broker outage leaves the paper queued for the sweep.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import queue
from ..models import (
    AuditEvent,
    InstrumentVersion,
    Paper,
    PaperFinding,
    PaperText,
    Study,
)
from ..papers import finder
from ..papers.extract import Extraction, UnreadablePDF, extract
from ..papers.passages import Passage, passages
from ..selectors.studies import project_versions
from .quotes import verify_pending_quotes

logger = logging.getLogger(__name__)

MAGIC = b"%PDF-"
# Readers accept a header a little way into the file (some producers write a
# few bytes of junk first); so do we.
HEADER_WINDOW = 1024
ALREADY_ATTACHED = gettext_lazy("This paper is already attached to the study.")
# A paper still queued after this long lost its job (broker down): ask again.
QUEUED_GRACE = timedelta(minutes=10)
MAX_ATTEMPTS = 3
NAME_CHARS = 255
# Copying a paper out of the bucket for the extractor, a megabyte at a time.
COPY_CHUNK = 2**20
# Extraction states that a second run would only repeat.
FINISHED = frozenset({Paper.TextState.DONE, Paper.TextState.NO_TEXT})


@dataclass(frozen=True)
class Attached:
    """What an upload did: the paper now current, and whether it is new."""

    paper: Paper
    created: bool
    replaced: Paper | None = None
    # Same bytes as the current paper, or an earlier one made current again.
    already: bool = False
    restored: bool = False


def size_words(size: int) -> str:
    """A size as people read it: '100 MB', '512 kB', '900 bytes'."""
    if size >= 2**20:
        return f"{round(size / 2**20, 1):g} MB"
    if size >= 2**10:
        return f"{round(size / 2**10, 1):g} kB"
    return f"{size:,} bytes"


def too_large_message() -> str:
    limit = size_words(int(settings.PAPER_MAX_BYTES))
    return _(
        "The paper is larger than the limit of %(limit)s for papers. Compress "
        "the PDF (for example with lower-resolution figures) and upload it again."
    ) % {"limit": limit}


def _clean_name(filename: str) -> str:
    """The name people gave the file, without folders or control characters."""
    base = os.path.basename((filename or "").replace("\\", "/"))
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return (cleaned or "paper.pdf")[:NAME_CHARS]


def _digest(uploaded_file: Any) -> tuple[str, int, bytes]:
    """SHA-256, size and first bytes, reading the file in chunks (never whole)."""
    sha = hashlib.sha256()
    size = 0
    head = b""
    limit = int(settings.PAPER_MAX_BYTES)
    for chunk in uploaded_file.chunks():
        if len(head) < HEADER_WINDOW:
            head += chunk[: HEADER_WINDOW - len(head)]
        sha.update(chunk)
        size += len(chunk)
        if size > limit:
            raise ValidationError(too_large_message(), code="too_large")
    return sha.hexdigest(), size, head


def _source(uploaded_file: Any) -> bytes | str:
    """What the extractor opens: a path on disk when there is one, else bytes."""
    temporary = getattr(uploaded_file, "temporary_file_path", None)
    if callable(temporary):
        return str(temporary())
    name = getattr(getattr(uploaded_file, "file", None), "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        return name
    # In memory already (small uploads, tests): reading it costs nothing more.
    uploaded_file.seek(0)
    data: bytes = uploaded_file.read()
    uploaded_file.seek(0)
    return data


@dataclass(frozen=True)
class CheckedPDF:
    sha256: str
    size: int
    extraction: Extraction


def check_pdf(uploaded_file: Any) -> CheckedPDF:
    """The file's SHA-256, size and text, or ValidationError saying what is wrong."""
    declared = getattr(uploaded_file, "size", None)
    if isinstance(declared, int) and declared > int(settings.PAPER_MAX_BYTES):
        raise ValidationError(too_large_message(), code="too_large")
    sha256, size, head = _digest(uploaded_file)
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if MAGIC not in head:
        raise ValidationError(
            _(
                "The file is not a PDF: it does not start like one. Upload the "
                "paper's full text as a PDF file."
            ),
            code="not_pdf",
        )
    try:
        # The first page proves the file opens and reads; the task does the rest.
        extraction = extract(_source(uploaded_file), max_pages=1)
    except UnreadablePDF as exc:
        raise ValidationError(
            _("The PDF cannot be read: %(problem)s") % {"problem": exc},
            code="unreadable",
        ) from exc
    return CheckedPDF(sha256, size, extraction)


def upload_paper(
    *, study: Study, user: Any, uploaded_file: Any, filename: str
) -> Paper:
    """Attach a PDF as the study's current paper (see attach_paper)."""
    return attach_paper(
        study=study, user=user, uploaded_file=uploaded_file, filename=filename
    ).paper


def attach_paper(
    *, study: Study, user: Any, uploaded_file: Any, filename: str
) -> Attached:
    """Check, hash and store a PDF as the study's current paper.

    The previous current paper is kept (quotes point at it), no longer
    current. The same bytes as the current paper change nothing; the same
    bytes as an earlier paper make that one current again. Atomic: on any
    error there is no new row and no stray file.
    """
    checked = check_pdf(uploaded_file)
    sha256, size = checked.sha256, checked.size
    name = _clean_name(filename)
    stored: str | None = None
    try:
        with transaction.atomic():
            # Serialises two uploads to one study (one current paper).
            Study.objects.select_for_update().filter(pk=study.pk).first()
            current = Paper.objects.filter(study=study, current=True).first()
            if current is not None and current.sha256 == sha256:
                return Attached(current, created=False, already=True)
            earlier = (
                Paper.objects.filter(study=study, current=False, sha256=sha256)
                .order_by("-uploaded_at")
                .first()
            )
            now = timezone.now()
            if current is not None:
                Paper.objects.filter(pk=current.pk).update(
                    current=False, replaced_at=now
                )
            if earlier is not None:
                Paper.objects.filter(pk=earlier.pk).update(
                    current=True, replaced_at=None
                )
                earlier.refresh_from_db()
                _record(study, user, "paper-restored", earlier, current)
                if earlier.text_state not in FINISHED:
                    queue.extract_paper_on_commit(earlier.pk)
                return Attached(earlier, False, current, restored=True)
            paper = Paper(
                study=study,
                original_name=name,
                sha256=sha256,
                size=size,
                uploaded_by=user if getattr(user, "pk", None) else None,
            )
            uploaded_file.seek(0)
            paper.file.save(f"{paper.uuid.hex}.pdf", File(uploaded_file), save=False)
            stored = paper.file.name
            paper.save()
            action = "paper-replaced" if current is not None else "paper-uploaded"
            _record(study, user, action, paper, current)
            queue.extract_paper_on_commit(paper.pk)
    except BaseException:
        if stored:
            paper.file.storage.delete(stored)
        raise
    if current is not None:
        current.current, current.replaced_at = False, now
    return Attached(paper, created=True, replaced=current)


def _record(
    study: Study, user: Any, action: str, paper: Paper, previous: Paper | None
) -> None:
    detail: dict[str, Any] = {
        "file": paper.original_name,
        "size": size_words(paper.size),
        "checksum": f"SHA-256 {paper.sha256[:12]}",
    }
    if previous is not None:
        detail["replaces"] = previous.original_name or previous.sha256[:12]
    AuditEvent.objects.record(study.project_id, user, action, str(study), detail)


# --- text extraction (the Celery task's body) ---------------------------------------


@contextmanager
def _local_copy(paper: Paper) -> Iterator[str]:
    """A path on disk to the paper's bytes, for the extractor (PDFium opens a
    path without reading the whole file into memory): the stored file itself
    on local storage, a temporary copy of an object in the bucket."""
    storage = paper.file.storage
    try:
        path = str(storage.path(paper.file.name))
    except NotImplementedError:  # object storage: no path
        path = ""
    if path:
        yield path
        return
    with (
        storage.open(paper.file.name, "rb") as source,
        tempfile.NamedTemporaryFile(suffix=".pdf") as copy,
    ):
        shutil.copyfileobj(source, copy, COPY_CHUNK)
        copy.flush()
        yield copy.name


def run_extraction(paper_id: int, *, force: bool = True) -> str:
    """Extract the paper's page text, its finder passages and candidates.

    Safe to run again: a re-run replaces what an earlier one stored. With
    force=False a paper whose text is already extracted is left alone (the
    sweep and a redelivered job may ask twice).
    """
    paper = Paper.objects.select_related("study__project").filter(pk=paper_id).first()
    if paper is None:
        return "gone"
    if not force and paper.text_state in FINISHED:
        return str(paper.text_state)
    started = time.perf_counter()
    if paper.extraction_attempts >= MAX_ATTEMPTS:
        return _failed(
            paper,
            started,
            f"The text extractor stopped {MAX_ATTEMPTS} times on this PDF without "
            "finishing. The file may be damaged: try another copy of the paper.",
        )
    Paper.objects.filter(pk=paper.pk).update(
        text_state=Paper.TextState.RUNNING,
        text_error="",
        extraction_started_at=timezone.now(),
        extraction_attempts=F("extraction_attempts") + 1,
    )
    try:
        with _local_copy(paper) as source:
            extraction = extract(source)
    except UnreadablePDF as exc:
        return _failed(paper, started, f"The PDF cannot be read: {exc}")
    except FileNotFoundError:
        return _failed(paper, started, "The stored file is missing.")
    except Exception as exc:
        logger.exception("Text extraction of paper %s failed", paper.pk)
        return _failed(
            paper, started, f"Text extraction stopped with an error ({exc})."[:2000]
        )
    return _store(paper, extraction, started)


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _failed(paper: Paper, started: float, reason: str) -> str:
    Paper.objects.filter(pk=paper.pk).update(
        text_state=Paper.TextState.FAILED,
        text_error=reason,
        extracted_at=timezone.now(),
        extraction_ms=_elapsed_ms(started),
    )
    return str(Paper.TextState.FAILED)


def _store(paper: Paper, extraction: Extraction, started: float) -> str:
    windows = passages(extraction.pages) if extraction.has_text else []
    stored = [_passage_dict(p) for p in windows]
    versions = project_versions(paper.study.project)
    findings = [(v, *_find(v, windows)) for v in versions] if windows else []
    state = Paper.TextState.DONE if extraction.has_text else Paper.TextState.NO_TEXT
    with transaction.atomic():
        PaperText.objects.update_or_create(
            paper=paper, defaults={"pages": list(extraction.pages), "passages": stored}
        )
        PaperFinding.objects.filter(paper=paper).delete()
        PaperFinding.objects.bulk_create(
            PaperFinding(paper=paper, version=v, hints=hints, items=items)
            for v, hints, items in findings
        )
        Paper.objects.filter(pk=paper.pk).update(
            text_state=state,
            text_error="",
            page_count=extraction.page_count,
            extraction_attempts=0,
            extracted_at=timezone.now(),
            extraction_ms=_elapsed_ms(started),
        )
        # Quotes taken from the viewer before the text was here get their verdict.
        verify_pending_quotes(paper)
    return str(state)


def _passage_dict(passage: Passage) -> dict[str, Any]:
    return {
        "page": passage.page,
        "start": passage.start,
        "end": passage.end,
        "text": passage.text,
    }


def _find(
    version: InstrumentVersion, windows: list[Passage]
) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The version's hints fingerprint and its candidates per item code."""
    definition = version.as_definition()
    found = finder.find(definition, windows)
    items = {
        str(code): [candidate.as_dict() for candidate in candidates]
        for code, candidates in found.items()
    }
    return finder.hints_fingerprint(definition), items


def findings_for(
    paper: Paper, version: InstrumentVersion
) -> dict[str, list[dict[str, Any]]]:
    """The finder's candidates for each item: {code: [{page,start,end,text,score}]}.

    Cached per paper and version; computed now (and cached) when the version
    was added to the project after extraction, or its wording was revised.
    Empty when the paper has no text.
    """
    hints = finder.hints_fingerprint(version.as_definition())
    cached = PaperFinding.objects.filter(paper=paper, version=version).first()
    if cached is not None and cached.hints == hints:
        return dict(cached.items)
    stored = (
        PaperText.objects.filter(paper=paper).values_list("passages", flat=True).first()
    )
    if not stored:
        return {}
    windows = [Passage(**row) for row in stored]
    hints, items = _find(version, windows)
    PaperFinding.objects.update_or_create(
        paper=paper, version=version, defaults={"hints": hints, "items": items}
    )
    return items


# --- the sweep -----------------------------------------------------------------------


def sweep_queued_papers() -> int:
    """Ask again for papers still queued long after upload (the broker was down),
    and for extractions whose worker died after the task's time limit."""
    now = timezone.now()
    dead = now - timedelta(seconds=int(settings.CELERY_TASK_TIME_LIMIT) + 60)
    waiting = Paper.objects.filter(
        Q(text_state=Paper.TextState.QUEUED, uploaded_at__lt=now - QUEUED_GRACE)
        | Q(text_state=Paper.TextState.RUNNING, extraction_started_at__lt=dead)
    ).values_list("pk", flat=True)
    return sum(1 for pk in waiting if queue.extract_paper(pk))
