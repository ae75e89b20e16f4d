"""Page text cut into the windows the evidence finder ranks.

A window is a few consecutive sentences of one page (at most MAX_SENTENCES and
MAX_WORDS), with character offsets into that page's stored text, so that the
viewer can jump to it and highlight it. Windows overlap (a new one starts every
STRIDE sentences): a passage that straddles two windows still sits whole in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SENTENCES = 3
MAX_WORDS = 80
STRIDE = 1

# Words a period follows without ending the sentence. "etc." is left out on
# purpose: it ends a sentence more often than not.
_ABBREVIATED = """
    al e.g i.e cf vs viz fig figs eq eqs ref refs tab suppl sect sec no nos vol
    pp approx ca resp dr prof st mr ms mrs jr inc ltd co dept univ est incl
    jan feb mar apr jun jul aug sep sept oct nov dec
"""
ABBREVIATIONS = frozenset(_ABBREVIATED.split())

# A sentence may end at . ! or ? (and any closing quote or bracket after it)
# when whitespace and then a capital, a digit or an opening quote or bracket
# follow. "0.85" and "e.g.," never match: no whitespace follows their period.
_END = re.compile(r"[.!?][)\]\"'\u201d\u2019]*(?=\s+[\"'(\[\u201c\u2018]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
_WORD = re.compile(r"\S+")
_LAST_WORD = re.compile(r"(\S+)$")
# A hyphen at a line end, and the first letter of the next line.
_HYPHEN_BREAK = re.compile(r"(?<=\w)([-\u2010\u00ad])[ \t]*\r?\n\s*(?=(\w))")
# "u.s." or "a.v.": letters with periods between them.
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]\.?$")
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}")
# Signs of a reference-list entry: "2019;", "(2020)", "12(3):45", "doi", a DOI,
# "et al", and Vancouver-style authors ("Smith JA,").
_REFERENCE_SIGN = re.compile(
    r"\b(?:19|20)\d{2}\s*[;:)]|\b\d+\s*\(\d+\)\s*:\s*\d+|\bdoi\b(?!\.org)|\b10\.\d{4,}/"
    r"|\bet al\b|\b[A-Z][a-z]+ [A-Z]{1,2}[,.]"
)


@dataclass(frozen=True)
class Passage:
    page: int  # 1-based
    start: int  # offsets into the stored text of that page
    end: int
    text: str  # whitespace collapsed, line-end hyphenation undone


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    text: str
    words: int
    wordy: int  # words with two letters or more
    signs: int  # reference-list signs


def passages(pages: list[str]) -> list[Passage]:
    """Every window of every page, in reading order."""
    found: list[Passage] = []
    for number, page in enumerate(pages, start=1):
        # Each sentence is read once; a window sums its sentences.
        sentences = [_sentence(page, start, end) for start, end in sentence_spans(page)]
        for first in range(0, len(sentences), STRIDE):
            window = _window(sentences, first)
            if not _is_apparatus(window):
                found.append(
                    Passage(
                        number,
                        window[0].start,
                        window[-1].end,
                        " ".join(s.text for s in window),
                    )
                )
    return _without_repeats(found)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; one longer than MAX_WORDS is cut in pieces."""
    spans: list[tuple[int, int]] = []
    for block_start, block_end in _blocks(text):
        start = block_start
        for match in _END.finditer(text, block_start, block_end):
            if _after_abbreviation(text, start, match.start()):
                continue
            spans += _cut_long(text, start, match.end())
            start = match.end()
        spans += _cut_long(text, start, block_end)
    return spans


def clean_text(raw: str) -> str:
    return " ".join(_HYPHEN_BREAK.sub(_join_broken_word, raw).split())


def _join_broken_word(match: re.Match[str]) -> str:
    """ "seg-/mentation" is one word again; "IBSI-/conform" keeps its hyphen.

    U+2010 and the soft hyphen U+00AD are what automatic hyphenation leaves in
    a text layer. A plain "-" may be either kind: between lower-case letters
    it is taken as a break (a lower-case compound such as "open-source" then
    reads "opensource", a smaller loss than "seg mentation"); next to capitals
    or digits ("IBSI-conform", "18F-FDG", "T2-weighted") it is the author's.
    """
    hyphen, after = match.group(1), match.group(2)
    before = match.string[max(0, match.start() - 30) : match.start()]
    word = re.split(r"\W", before)[-1]
    if after.islower() and (hyphen != "-" or word.islower()):
        return ""
    return "-"


def word_count(text: str) -> int:
    return len(text.split())


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraphs: a blank line always ends a sentence (headings, captions)."""
    blocks, start = [], 0
    for match in _PARAGRAPH.finditer(text):
        blocks.append((start, match.start()))
        start = match.end()
    blocks.append((start, len(text)))
    return blocks


def _after_abbreviation(text: str, start: int, period: int) -> bool:
    if text[period] != ".":
        return False
    match = _LAST_WORD.search(text, start, period)
    if match is None:
        return False
    word = match.group(1).lstrip("([\"'").lower()
    # A lone capital is an initial ("J. Smith", "A.V."), not the end of a sentence.
    single_initial = len(word) == 1 and match.group(1)[-1].isupper()
    return single_initial or word in ABBREVIATIONS or bool(_INITIALS.match(word))


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    words = [m.span() for m in _WORD.finditer(text, start, end)]
    return [
        (words[i][0], words[min(i + MAX_WORDS, len(words)) - 1][1])
        for i in range(0, len(words), MAX_WORDS)
    ]


def _sentence(page: str, start: int, end: int) -> _Sentence:
    text = clean_text(page[start:end])
    words = text.split()
    return _Sentence(
        start,
        end,
        text,
        len(words),
        sum(1 for w in words if _ALPHA_WORD.search(w)),
        len(_REFERENCE_SIGN.findall(text)),
    )


def _window(sentences: list[_Sentence], first: int) -> list[_Sentence]:
    last, words = first, sentences[first].words
    while last + 1 < len(sentences) and last + 1 - first < MAX_SENTENCES:
        more = sentences[last + 1].words
        if words + more > MAX_WORDS:
            break
        last, words = last + 1, words + more
    return sentences[first : last + 1]


def _is_apparatus(window: list[_Sentence]) -> bool:
    """Table cells, number runs and reference-list entries: never evidence.

    A window is skipped when fewer than half of its words are words (two or
    more letters): table rows and statistics dumps. It is also skipped when it
    carries a reference-list sign (year-semicolon, volume(issue):page, DOI,
    "et al", "Smith JA,") for every 12 words or fewer: a reference entry has
    three or more such signs in 20-30 words, while running text that cites
    others ("as Smith et al. (2020) showed") has one or two in a window of 80.
    Reference lists otherwise win queries, because they repeat the very
    titles of the guidelines and methods an item asks about.
    """
    words = sum(s.words for s in window)
    if words == 0 or sum(s.wordy for s in window) * 2 < words:
        return True
    return sum(s.signs for s in window) * 12 >= max(words, 12)


def _without_repeats(found: list[Passage]) -> list[Passage]:
    # A window wholly inside the one before it adds nothing but a duplicate.
    kept: list[Passage] = []
    for passage in found:
        previous = kept[-1] if kept else None
        if (
            previous is not None
            and previous.page == passage.page
            and previous.start <= passage.start
            and passage.end <= previous.end
        ):
            continue
        kept.append(passage)
    return kept
