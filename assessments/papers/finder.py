"""The evidence finder: BM25 over a paper's windows, one query per item.

Lexical and offline: `bm25s` scores stemmed words (PyStemmer's English
Snowball stemmer, English stop words). An item's query is its label and help
text, plus each of its evidence hints (phrases and synonyms, our own words) as
a phrase of its own: a window earns a hint's BM25 score, multiplied by
1 + PHRASE_BONUS x the share of the hint's words it holds, so "calibration
plot" counts for more in a window that has both words than in two windows that
have one each. The measurements behind these choices are in bench/evidence.py
and the README. The finder only points at passages; it never answers.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from .passages import Passage

# Bumped when tokenising or scoring changes, so cached findings go stale.
FINDER_VERSION = "1"
TOP = 5
# A window holding all of a hint's words scores it (1 + PHRASE_BONUS) times.
PHRASE_BONUS = 2.0

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# British and American spellings meet before stemming ("standardised" and
# "standardized" stem apart; so do "analyse" and "analyze", "tumour" and "tumor").
_SPELLING = (
    (re.compile(r"(?<=\w{3})is(e|ed|es|ing|ation|ations)$"), r"iz\1"),
    (re.compile(r"(?<=\w{2})ys(e|ed|es|ing)$"), r"yz\1"),
    (re.compile(r"(?<=\w{3})our(s?)$"), r"or\1"),
    (re.compile(r"(?<=\w{3})tre(s?)$"), r"ter\1"),
)
STOP_WORDS = frozenset(STOPWORDS_EN_PLUS)
_STEMMER = Stemmer.Stemmer("english")
# bm25s sets its own logger to DEBUG and would log every index it builds.
logging.getLogger("bm25s").setLevel(logging.WARNING)


class ItemLike(Protocol):
    """What the finder reads of an instrument item (or condition)."""

    @property
    def code(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def help(self) -> str: ...


class DefinitionLike(Protocol):
    @property
    def items(self) -> Sequence[ItemLike]: ...
    @property
    def conditions(self) -> Sequence[ItemLike]: ...


@dataclass(frozen=True)
class Candidate:
    page: int
    start: int
    end: int
    text: str
    score: float

    def as_dict(self) -> dict[str, object]:
        return {
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 4),
        }


def tokens(text: str) -> list[str]:
    """Lower-cased, spelling-normalised, stemmed words; no stop words or numbers."""
    return [term for word in _WORD.findall(text.lower()) if (term := _term(word))]


@functools.lru_cache(maxsize=1 << 16)
def _term(word: str) -> str:
    # Cached: a paper repeats its words, and each sentence sits in ~3 windows.
    if word in STOP_WORDS or word.isdigit() or len(word) < 2:
        return ""
    for pattern, replacement in _SPELLING:
        word = pattern.sub(replacement, word)
    stem: str = _STEMMER.stemWord(word)
    return stem


@dataclass(frozen=True)
class Query:
    """Weighted words, and phrases (tuples of words) scored with a bonus."""

    words: Mapping[str, float] = field(default_factory=dict)
    phrases: tuple[tuple[str, ...], ...] = ()


class Finder:
    """A BM25 index of one paper's windows: build once, query every item."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = list(passages)
        corpus = [tokens(p.text) for p in self.passages]
        self._bm25 = bm25s.BM25()
        self._ready = any(corpus)
        if self._ready:
            self._bm25.index(corpus, show_progress=False)
            scores = self._bm25.scores
            self._data = np.asarray(scores["data"], dtype=np.float64)
            self._indices = np.asarray(scores["indices"])
            self._indptr = np.asarray(scores["indptr"])
            self._vocab: dict[str, int] = self._bm25.vocab_dict

    def search(self, query: str | Query, top: int = TOP) -> list[Candidate]:
        """The best windows for a query, best first, no two overlapping."""
        if isinstance(query, str):
            query = Query(words=query_words([query]))
        scores = self.scores(query)
        if scores is None:
            return []
        order = np.argsort(-scores, kind="stable")
        chosen: list[Candidate] = []
        for index in order:
            score = float(scores[index])
            if score <= 0 or len(chosen) >= top:
                break
            passage = self.passages[index]
            if any(_overlaps(passage, c) for c in chosen):
                continue
            chosen.append(
                Candidate(passage.page, passage.start, passage.end, passage.text, score)
            )
        return chosen

    def scores(self, query: Query) -> np.ndarray | None:
        """The query's score for every window (None: nothing is indexed)."""
        if not self._ready:
            return None
        total = np.zeros(len(self.passages), dtype=np.float64)
        for word, weight in query.words.items():
            self._add(total, word, weight)
        for phrase in query.phrases:
            score = np.zeros_like(total)
            held = np.zeros_like(total)
            for word in phrase:
                self._add(score, word, 1.0, held)
            total += score * (1 + PHRASE_BONUS * held / len(phrase))
        return total

    def _add(
        self,
        into: np.ndarray,
        word: str,
        weight: float,
        held: np.ndarray | None = None,
    ) -> None:
        """Add one word's BM25 column (and, if asked, count where it occurs)."""
        column = self._vocab.get(word) if word else None
        if column is None:
            return
        start, end = self._indptr[column], self._indptr[column + 1]
        rows = self._indices[start:end]
        into[rows] += weight * self._data[start:end]
        if held is not None:
            held[rows] += 1


def query_words(texts: Iterable[str]) -> dict[str, float]:
    """Each text's words weigh one; a word repeated within one text counts once."""
    words: dict[str, float] = {}
    for text in texts:
        for word in set(tokens(text)):
            words[word] = words.get(word, 0.0) + 1.0
    return words


def hints_of(item: ItemLike) -> tuple[str, ...]:
    # Conditions carry no hints yet; items always have the attribute.
    return tuple(getattr(item, "evidence_hints", ()) or ())


def item_search(item: ItemLike) -> Query:
    """Label and help as words; each hint as a phrase."""
    phrases = (tuple(sorted(set(tokens(hint)))) for hint in hints_of(item))
    return Query(
        words=query_words([item.label, item.help]),
        phrases=tuple(p for p in phrases if p),
    )


def item_query(item: ItemLike) -> str:
    """The item's query in words: label, help and hints."""
    texts = [item.label, item.help, *hints_of(item)]
    return " ; ".join(text for text in texts if text.strip())


def searched_entries(definition: DefinitionLike) -> list[ItemLike]:
    """Every item, and the conditions that have hints of their own."""
    conditions = [c for c in definition.conditions if hints_of(c)]
    return [*conditions, *definition.items]


def find(
    definition: DefinitionLike,
    passages: Sequence[Passage],
    *,
    top: int = TOP,
    item_code: str | None = None,
) -> dict[str, list[Candidate]]:
    """{item code: candidates, best first} for every item (or the one asked)."""
    finder = Finder(passages)
    return {
        entry.code: finder.search(item_search(entry), top)
        for entry in searched_entries(definition)
        if item_code is None or entry.code == item_code
    }


def hints_fingerprint(definition: DefinitionLike) -> str:
    """Changes when any query (wording, hints) or the finder itself changes."""
    digest = hashlib.sha256(f"finder {FINDER_VERSION}\n".encode())
    for entry in searched_entries(definition):
        digest.update(f"{entry.code}\t{item_query(entry)}\n".encode())
    return digest.hexdigest()


def _overlaps(passage: Passage, other: Candidate) -> bool:
    return (
        passage.page == other.page
        and passage.start < other.end
        and other.start < passage.end
    )
