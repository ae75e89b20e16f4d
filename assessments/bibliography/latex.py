"""A fast path for the LaTeX that bibliography exports actually contain.

pylatexenc (behind bibtexparser's LatexDecodingMiddleware) needs about 1 ms
for a short string and several for an abstract: 10,000 entries took close to
30 s. Almost all values hold only grouping braces ("{CT}"), escaped symbols
("50\\%") and accents ("M{\\"u}ller"). Those are decoded here; for anything
else (other macros, math, comments, "~") this returns None and the caller
falls back to pylatexenc, so the fast path never guesses.
"""

from __future__ import annotations

import re
import unicodedata

# LaTeX accent commands and the Unicode combining marks they stand for.
_ACCENTS = {
    "`": "\u0300",
    "'": "\u0301",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    "u": "\u0306",
    ".": "\u0307",
    '"': "\u0308",
    "H": "\u030b",
    "v": "\u030c",
    "c": "\u0327",
    "k": "\u0328",
}
_LETTER = r"(\\[ij](?![A-Za-z])|[A-Za-z])"  # \i, \j: dotless i and j
# Symbol accents may touch their letter (\'e); letter ones need { or space.
_SYMBOL_ACCENT = re.compile(r"""\\([`'^"~=.])\s*(?:\{\s*)?""" + _LETTER)
_WORD_ACCENT = re.compile(r"\\([uHvck])(?:\s*\{\s*|\s+)" + _LETTER)
_COMMENT = re.compile(r"(?<!\\)%")
_UNHANDLED = re.compile(r"\\(?![%&_#$])|(?<!\\)[$~]")
_ESCAPE = re.compile(r"\\([%&_#$])")
_PUNCTUATION = (("---", "\u2014"), ("--", "\u2013"), ("``", "\u201c"), ("''", "\u201d"))


def _accented(match: re.Match[str]) -> str:
    letter = match.group(2).removeprefix("\\")
    return unicodedata.normalize("NFC", letter + _ACCENTS[match.group(1)])


def simple_latex_to_text(value: str) -> str | None:
    """Plain text for simple LaTeX, or None when pylatexenc is needed."""
    if _COMMENT.search(value):
        return None
    text = _WORD_ACCENT.sub(_accented, _SYMBOL_ACCENT.sub(_accented, value))
    if _UNHANDLED.search(text):
        return None
    text = _ESCAPE.sub(r"\1", text)
    for latex, character in _PUNCTUATION:
        text = text.replace(latex, character)
    return text.replace("{", "").replace("}", "")
