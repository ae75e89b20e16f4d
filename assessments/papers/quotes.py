"""Finding a reviewer's quote again in the stored text of a page.

A quote arrives as the browser's selection in PDF.js's text layer; the stored
page text came from PDFium. The two differ in ways that say nothing about
whether the words are in the paper, so both are compared after `normalise`:

1. NFKC, per character with its combining marks: ligatures become letters
   ("ﬁ" -> "fi"), no-break spaces spaces, full-width forms ASCII;
2. curly single and double quotes become ' and ", every dash and the minus
   sign "-"; zero-width characters are dropped;
3. a hyphen followed by a lower-case letter is dropped together with any
   whitespace between them, when a line break follows the hyphen or it stands
   right after a non-space: "radio-\\nmics" -> "radiomics". Genuine hyphens go
   too ("well-known" -> "wellknown"), on both sides alike, so a compound that
   the layout broke at its own hyphen is found however it was selected;
   A soft hyphen is dropped, and with it a line break right after it;
4. every run of whitespace becomes one space;
5. case folding.

`locate` maps the match back to offsets in the original page text, which are
what a quote's TextPositionSelector stores. When the quote is not found as it
is, it is looked for once more with all spaces ignored (PDF.js and PDFium do
not always agree on where a space falls between two words).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

MIN_LENGTH = 3  # normalised characters; shorter selections prove nothing
CONTEXT = 64  # the prefix and suffix a quote carries

QUOTES = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb", '"'),
}
DASHES = dict.fromkeys(
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d", "-"
)
SOFT_HYPHEN = "\u00ad"
DROPPED = frozenset("\u200b\u200c\u200d\u2060\ufeff")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x85\u2028\u2029")
REPLACED = {**QUOTES, **DASHES, **dict.fromkeys(DROPPED, "")}


@dataclass(frozen=True)
class Span:
    """Character offsets [start, end) in the original page text."""

    start: int
    end: int


@dataclass(frozen=True)
class Mapped:
    """A normalised text and, for each of its characters, where it came from."""

    text: str
    starts: tuple[int, ...]  # original offset of the first source character
    ends: tuple[int, ...]  # original offset just after the last one


def normalise(text: str) -> str:
    """The text as quotes are compared (see the module docstring)."""
    return mapped(text).text


def locate(
    page_text: str, exact: str, prefix: str = "", suffix: str = ""
) -> Span | None:
    """Where `exact` is in `page_text`, or None when it is not there.

    Where it occurs several times, the prefix and suffix (the text the reviewer
    saw before and after it) choose; without them, the first occurrence wins.
    """
    needle = normalise(exact).strip().rstrip("-").rstrip()
    if len(needle) < MIN_LENGTH:
        return None
    page = page_mapping(page_text)
    for haystack, query in (
        (page, needle),
        (without_spaces(page), needle.replace(" ", "")),
    ):
        found = occurrences(haystack.text, query)
        if found:
            best = choose(haystack.text, found, len(query), prefix, suffix)
            return Span(haystack.starts[best], haystack.ends[best + len(query) - 1])
    return None


def occurrences(text: str, needle: str) -> list[int]:
    found = []
    index = text.find(needle)
    while index != -1:
        found.append(index)
        index = text.find(needle, index + 1)
    return found


def choose(text: str, found: list[int], length: int, prefix: str, suffix: str) -> int:
    """The occurrence whose surroundings agree best with the prefix and suffix."""
    if len(found) == 1 or not (prefix or suffix):
        return found[0]
    before = normalise(prefix).replace(" ", "")
    after = normalise(suffix).replace(" ", "")
    # Spaces are ignored in the comparison, so read a wider window of the page.
    reach = 2 * CONTEXT + len(before) + len(after)

    def agreement(index: int) -> int:
        context_before = text[max(0, index - reach) : index].replace(" ", "")
        context_after = text[index + length : index + length + reach].replace(" ", "")
        return common_suffix(before, context_before) + common_prefix(
            after, context_after
        )

    # max() keeps the first of equals: the earliest occurrence wins a tie.
    return max(found, key=agreement)


def common_prefix(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def common_suffix(a: str, b: str) -> int:
    return common_prefix(a[::-1], b[::-1])


def without_spaces(page: Mapped) -> Mapped:
    keep = [i for i, char in enumerate(page.text) if char != " "]
    return Mapped(
        text="".join(page.text[i] for i in keep),
        starts=tuple(page.starts[i] for i in keep),
        ends=tuple(page.ends[i] for i in keep),
    )


@lru_cache(maxsize=32)
def page_mapping(page_text: str) -> Mapped:
    # Cached: a page would be normalised again for every quote saved on it.
    return mapped(page_text)


def mapped(text: str) -> Mapped:
    """Normalise `text`, keeping each output character's source offsets."""
    chars, starts, ends = folded_characters(text)
    out: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    i, n = 0, len(chars)
    while i < n:
        char = chars[i]
        if char.isspace():
            j = i
            while j < n and chars[j].isspace():
                j += 1
            out.append(" ")
            out_starts.append(starts[i])
            out_ends.append(ends[j - 1])
            i = j
            continue
        if char == "-" and hyphen_is_dropped(chars, i):
            i, _ = after_whitespace(chars, i + 1)
            continue
        if char == SOFT_HYPHEN:
            # Visible only where the line breaks, so the word goes on after it.
            j, line_break = after_whitespace(chars, i + 1)
            i = j if line_break and j < n else i + 1
            continue
        # Case folding after the hyphen rule, which looks at the case.
        for folded in char.casefold():
            out.append(folded)
            out_starts.append(starts[i])
            out_ends.append(ends[i])
        i += 1
    return Mapped("".join(out), tuple(out_starts), tuple(out_ends))


def hyphen_is_dropped(chars: list[str], i: int) -> bool:
    j, line_break = after_whitespace(chars, i + 1)
    if j == len(chars) or not chars[j].islower():
        return False
    return line_break or (i > 0 and not chars[i - 1].isspace())


def after_whitespace(chars: list[str], i: int) -> tuple[int, bool]:
    """The index of the next non-space from i, and whether a line broke."""
    line_break = False
    while i < len(chars) and chars[i].isspace():
        line_break = line_break or chars[i] in LINE_BREAKS
        i += 1
    return i, line_break


def folded_characters(text: str) -> tuple[list[str], list[int], list[int]]:
    """NFKC and the character replacements, before whitespace and case.

    A character and the combining marks after it are normalised together, so
    "e" + U+0301 becomes "é", and every character that comes out of them maps
    back to the whole cluster.
    """
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        if j == i + 1 and cluster < "\x80":
            normal = cluster
        else:
            normal = "".join(
                REPLACED.get(c, c) for c in unicodedata.normalize("NFKC", cluster)
            )
        for char in normal:
            chars.append(char)
            starts.append(i)
            ends.append(j)
        i = j
    return chars, starts, ends
