"""Reads about a study's full text: the current paper, earlier ones, page text.

Paper rows are light (the text lives in PaperText), so listing them loads
nothing heavy; page text is read only when someone needs it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import Paper, PaperText, Study


def current_paper(study: Study) -> Paper | None:
    """The study's current paper, None when it has none."""
    return (
        Paper.objects.select_related("uploaded_by")
        .filter(study=study, current=True)
        .first()
    )


def readable_paper(study: Study) -> Paper | None:
    """The current paper when its file is really there to show beside a form.

    A stored file can go missing (a restored database without its files); the
    pages then look as they do without a paper instead of failing in the viewer.
    """
    paper = current_paper(study) if study.pk is not None else None
    if paper is None or not file_exists(paper):
        return None
    return paper


def file_exists(paper: Paper) -> bool:
    try:
        return bool(paper.file.name) and paper.file.storage.exists(paper.file.name)
    except OSError:
        return False


def earlier_papers(study: Study) -> list[Paper]:
    """Replaced papers of the study, newest first: quotes may still point at them."""
    return list(
        Paper.objects.select_related("uploaded_by")
        .filter(study=study, current=False)
        .order_by("-uploaded_at", "-pk")
    )


def page_texts(paper: Paper) -> list[str]:
    """The stored text of each page (index 0 is page 1); empty before extraction."""
    pages = (
        PaperText.objects.filter(paper=paper).values_list("pages", flat=True).first()
    )
    return list(pages or [])


def papers_by_uuid(uuids: list[str]) -> dict[str, Paper]:
    """Papers named by quotes, by their uuid string (unknown uuids are left out)."""
    wanted = [u for u in uuids if u]
    found = Paper.objects.filter(uuid__in=wanted) if wanted else Paper.objects.none()
    return {str(paper.uuid): paper for paper in found}


def text_state_words(paper: Paper) -> str:
    """Where the paper's text extraction stands, in a reader's words."""
    state = paper.text_state
    if state == Paper.TextState.DONE:
        pages = paper.page_count
        return ngettext(
            "Text extracted from %(count)s page",
            "Text extracted from %(count)s pages",
            pages or 0,
        ) % {"count": pages}
    if state == Paper.TextState.FAILED:
        reason = paper.text_error or _("no reason was recorded")
        return _("Text extraction failed: %(reason)s") % {"reason": reason}
    if state == Paper.TextState.NO_TEXT:
        return _(
            "No text layer: scanned PDF. It can be read, but quotes cannot be "
            "checked against it and the evidence finder has nothing to search."
        )
    return str(Paper.TextState(state).label)
