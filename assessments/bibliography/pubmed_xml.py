"""PubMed XML (PubmedArticleSet, as from E-utilities efetch).

Uploads are untrusted, so the document is read with expat directly (the
parser inside xml.etree) with the same defaults as defusedxml: entity
declarations, internal DTD subsets and external entity references are
refused before anything is expanded. A DOCTYPE that only names an external
DTD is allowed, because every efetch download carries one
(<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle..." "...">);
expat never fetches it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import NoReturn
from xml.parsers import expat

from ..words import Phrase
from ..words import say as _
from .model import ImportFormatError, Parsed, RawRecord
from .normalise import year_from_date


def _refuse(why: Phrase) -> NoReturn:
    raise ImportFormatError(why)


def _doctype(
    name: str, system_id: str | None, public_id: str | None, internal: int
) -> None:
    if internal:
        _refuse(
            _(
                "XML DOCTYPE declarations with an internal subset "
                "(entity definitions) are not allowed in uploads"
            )
        )


def _entity_declaration(*_args: object) -> None:
    _refuse(_("XML entity declarations are not allowed in uploads"))


def _external_entity(*_args: object) -> int:
    _refuse(_("XML external entity references are not allowed in uploads"))


def parse_xml(text: str) -> ET.Element:
    """Element tree of a document that declares no entities."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _doctype
    parser.EntityDeclHandler = _entity_declaration
    parser.UnparsedEntityDeclHandler = _entity_declaration
    parser.ExternalEntityRefHandler = _external_entity
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        # Blank lines before "<?xml" are invalid XML but harmless.
        parser.Parse(text.lstrip(), True)
    except expat.ExpatError as exc:
        raise ImportFormatError(
            _("not well-formed XML: %(problem)s", problem=str(exc))
        ) from None
    return builder.close()


def _text(element: ET.Element | None) -> str:
    # itertext keeps the words inside markup such as <i>, <sup>.
    return "" if element is None else "".join(element.itertext()).strip()


def _abstract(article: ET.Element) -> str:
    parts = []
    for section in article.iterfind("Abstract/AbstractText"):
        label, text = section.get("Label", "").strip(), _text(section)
        parts.append(f"{label}: {text}" if label and text else text)
    return "\n".join(part for part in parts if part)


def _author(author: ET.Element) -> str:
    collective = _text(author.find("CollectiveName"))
    if collective:
        return collective
    return f"{_text(author.find('LastName'))} {_text(author.find('Initials'))}".strip()


def _year(article: ET.Element) -> str:
    date = article.find("Journal/JournalIssue/PubDate")
    if date is None:
        return ""
    return _text(date.find("Year")) or year_from_date(_text(date.find("MedlineDate")))


def _doi(pubmed_article: ET.Element, article: ET.Element) -> str:
    for location in article.iterfind("ELocationID"):
        if location.get("EIdType") == "doi" and location.get("ValidYN", "Y") == "Y":
            return _text(location)
    # Only the article's own ids: ReferenceList holds the cited papers' DOIs.
    for article_id in pubmed_article.iterfind("PubmedData/ArticleIdList/ArticleId"):
        if article_id.get("IdType") == "doi":
            return _text(article_id)
    return ""


def _fields(
    pubmed_article: ET.Element, article: ET.Element, pmid: str
) -> dict[str, str]:
    authors = (_author(a) for a in article.iterfind("AuthorList/Author"))
    return {
        "title": _text(article.find("ArticleTitle"))
        or _text(article.find("VernacularTitle")),
        "authors": "; ".join(name for name in authors if name),
        "year": _year(article),
        "journal": _text(article.find("Journal/Title"))
        or _text(article.find("Journal/ISOAbbreviation")),
        "doi": _doi(pubmed_article, article),
        "pmid": pmid,
        "abstract": _abstract(article),
    }


def _record(n: int, element: ET.Element) -> RawRecord:
    if element.tag != "PubmedArticle":
        message = _(
            "<%(tag)s> is not a journal article record (<PubmedArticle>)",
            tag=element.tag,
        )
        return RawRecord(n, _("record %(n)s", n=n), {}, [message])
    pmid = _text(element.find("MedlineCitation/PMID"))
    where = (
        _("record %(n)s (PMID %(pmid)s)", n=n, pmid=pmid)
        if pmid
        else _("record %(n)s", n=n)
    )
    article = element.find("MedlineCitation/Article")
    if article is None:
        return RawRecord(n, where, {}, [_("no MedlineCitation/Article element")])
    return RawRecord(n, where, _fields(element, article, pmid))


def parse_pubmed_xml(text: str) -> Parsed:
    root = parse_xml(text)
    if root.tag == "PubmedArticle":
        elements = [root]
    elif root.tag == "PubmedArticleSet":
        elements = list(root)
    else:
        raise ImportFormatError(
            _(
                "the XML root element is <%(tag)s>, not <PubmedArticleSet>: "
                "this is not a PubMed XML file",
                tag=root.tag,
            )
        )
    return [_record(n, element) for n, element in enumerate(elements, start=1)], []
