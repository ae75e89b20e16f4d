"""Full texts of papers (pure Python, no Django).

* ``extract``: the text of each page of a PDF, read with PDFium;
* ``identifiers``: DOIs and PMIDs in text, metadata and file names;
* ``quotes``: finding a reviewer's quote again in the stored page text;
* ``passages`` and ``finder``: the offline evidence finder.

Offsets everywhere are indices into the stored page text (``Extraction.pages``),
which is what quotes' TextPositionSelectors point into.
"""
