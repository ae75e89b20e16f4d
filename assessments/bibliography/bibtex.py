"""BibTeX / BibLaTeX through bibtexparser v2 and its middlewares."""

from __future__ import annotations

import bibtexparser
from bibtexparser import middlewares
from bibtexparser.library import Library
from bibtexparser.middlewares import LatexDecodingMiddleware
from bibtexparser.middlewares.middleware import Middleware
from bibtexparser.model import (
    Block,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
)

from ..words import say as _
from .latex import simple_latex_to_text
from .model import ImportFormatError, Parsed, RawRecord
from .normalise import year_from_date

# The only fields read below; the others are dropped before LaTeX decoding.
_USED_FIELDS = frozenset(
    {"title", "author", "year", "date", "journal", "journaltitle", "doi", "pmid"}
    | {"eprint", "eprinttype", "abstract"}
)


class _JoinAuthors(middlewares.BlockMiddleware):
    """Join the separated authors with "; " before LaTeX decoding.

    SeparateCoAuthors must see the braces ("{Radiomics Consortium}" is one
    name) but LatexDecodingMiddleware only decodes plain strings, so the list
    is joined in between.
    """

    def __init__(self) -> None:
        super().__init__(allow_inplace_modification=True)

    @classmethod
    def metadata_key(cls) -> str:
        return "rqs_join_authors"

    def transform_entry(self, entry: Entry, library: Library) -> Block:
        field = entry.get("author")
        if field is not None and isinstance(field.value, list):
            field.value = "; ".join(str(name) for name in field.value)
        return entry


class _DropUnusedFields(middlewares.BlockMiddleware):
    """Remove fields that are never read, so they are not LaTeX-decoded."""

    def __init__(self) -> None:
        super().__init__(allow_inplace_modification=True)

    @classmethod
    def metadata_key(cls) -> str:
        return "rqs_drop_unused_fields"

    def transform_entry(self, entry: Entry, library: Library) -> Block:
        entry.fields = [f for f in entry.fields if f.key in _USED_FIELDS]
        return entry


class _LatexDecoding(LatexDecodingMiddleware):
    """LatexDecodingMiddleware with a fast path for simple values (see latex)."""

    def _transform_python_value_string(self, python_string: str) -> tuple[str, str]:
        decoded = simple_latex_to_text(python_string)
        if decoded is None:
            return super()._transform_python_value_string(python_string)
        return decoded, ""


def _parse_stack() -> list[Middleware]:
    return [
        middlewares.ResolveStringReferencesMiddleware(True),
        middlewares.RemoveEnclosingMiddleware(True),
        middlewares.NormalizeFieldKeys(True),
        middlewares.SeparateCoAuthors(True),
        _JoinAuthors(),
        _DropUnusedFields(),
        _LatexDecoding(True),
    ]


def _value(entry: Entry, *keys: str) -> str:
    for key in keys:
        field = entry.get(key)
        if field is not None and str(field.value).strip():
            return str(field.value)
    return ""


def _pmid(entry: Entry) -> str:
    if _value(entry, "eprinttype").strip().lower() == "pubmed":
        return _value(entry, "pmid", "eprint")
    return _value(entry, "pmid")


def _fields(entry: Entry) -> dict[str, str]:
    return {
        "title": _value(entry, "title"),
        "authors": _value(entry, "author"),
        "year": year_from_date(_value(entry, "year", "date")),
        "journal": _value(entry, "journal", "journaltitle"),
        "doi": _value(entry, "doi"),
        "pmid": _pmid(entry),
        "abstract": _value(entry, "abstract"),
    }


def _failure(block: ParsingFailedBlock) -> str:
    first_line = (block.raw or "").strip().partition("\n")[0][:60]
    if isinstance(block, DuplicateFieldKeyBlock):
        keys = ", ".join(sorted(block.duplicate_keys))
        return _(
            "entry '%(entry)s' repeats fields: %(fields)s",
            entry=first_line,
            fields=keys,
        )
    # The parser's own reason is its (English) text, shown as it is.
    reason = getattr(block.error, "abort_reason", "") or str(block.error)
    return _(
        "unreadable BibTeX entry '%(entry)s': %(reason)s",
        entry=first_line,
        reason=reason.strip() or _("syntax error"),
    )


def _where(n: int, block: Block) -> str:
    # bibtexparser counts lines from 0.
    line = block.start_line
    if line is None:
        return _("record %(n)s", n=n)
    return _("record %(n)s (line %(line)s)", n=n, line=line + 1)


def parse_bibtex(text: str) -> Parsed:
    try:
        library = bibtexparser.parse_string(text, parse_stack=_parse_stack())
    except Exception as exc:  # third-party parser on untrusted input
        raise ImportFormatError(
            _("the BibTeX file cannot be read: %(problem)s", problem=repr(exc))
        ) from None
    raws: list[RawRecord] = []
    # Failed blocks count as records so that later numbers match the file.
    # Their ignore_error_block is the entry before the middlewares ran
    # (braces, raw LaTeX), so its fields are not validated or shown.
    for block in library.blocks:
        n, where = len(raws) + 1, _where(len(raws) + 1, block)
        if isinstance(block, Entry):
            raws.append(RawRecord(n, where, _fields(block)))
        elif isinstance(block, ParsingFailedBlock):
            raws.append(RawRecord(n, where, {}, [_failure(block)]))
    return raws, []
