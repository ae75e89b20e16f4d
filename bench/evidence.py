"""The evidence finder's benchmark: recall@5 and MRR on synthetic papers, and speed.

Runs alone (`.venv/bin/python bench/evidence.py`, no database) and from
`make bench`. Each set of tagged passages is laid out as papers (WeasyPrint
PDFs: title, abstract, introduction, methods, results, discussion, statements,
references; filler from bench/data/filler.json around the passages, which sit
where a manuscript would have them, in manuscript order), in LAYOUTS
different layouts (filler and placement drawn afresh). The PDFs are read
back with the app's own extraction, cut into windows and indexed as the app
does; each passage's item is then queried. A passage is found when one of the
item's top five windows is mostly that passage (half the window's word
triples are the passage's, or the window holds half of the passage's).

Sets: the 89 METRICS passages from CC BY papers (../shared/evidence/), and the
CLEAR and RQS passages that the project wrote itself (bench/data/): a proxy
for "passages you do not have", not the instruments' authors' material.
Prints a table, then one JSON line with every figure. It measures; it never
fails because a figure misses its target.
"""

from __future__ import annotations

import dataclasses
import html
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from weasyprint import HTML  # noqa: E402

from assessments.instruments import Definition, iter_bundled, parse_definition  # noqa: E402
from assessments.papers import finder  # noqa: E402
from assessments.papers.extract import extract  # noqa: E402
from assessments.papers.passages import passages as windows_of  # noqa: E402
from bench.common import print_figures  # noqa: E402

METRICS_FILE = ROOT.parent / "shared" / "evidence" / "metrics-e3-passages.json"
DATA = ROOT / "bench" / "data"
TOP = 5
METRICS_PAPERS = 5  # at most one passage per item in each paper
# Each set is laid out LAYOUTS times, filler and placement drawn afresh: one
# layout alone moves recall by a passage or two either way.
LAYOUTS = 3

# Where a METRICS item's passage sits in a manuscript (our reading of the items).
METRICS_RESULTS = {"20", "21", "22", "24"}
METRICS_STATEMENTS = {"28", "29", "30"}
# Sections a passage can sit in; H4's "data availability" is a statement.
SECTIONS: tuple[str, ...] = ("title", "abstract", "keywords", "introduction")
SECTIONS += ("methods", "results", "discussion", "statements")
SECTION_NAMES = {"data availability": "statements"}

TARGETS = [
    ("evidence_metrics_recall5", ">=", 0.85),
    ("evidence_clear_recall5", ">=", 0.80),
    ("evidence_20_pages_extract_index_s", "<=", 5.0),
    ("evidence_item_p50_ms", "<=", 100),
    ("evidence_item_p95_ms", "<=", 100),
]

STYLE = """
@page { size: A4; margin: 1.8cm 1.6cm; @bottom-center { content: counter(page); } }
body { font-family: "DejaVu Serif", serif; font-size: 9.5pt; line-height: 1.3; }
h1 { font-size: 15pt; margin: 0 0 0.4em; }
h2 { font-size: 11pt; margin: 0.9em 0 0.3em; }
h3 { font-size: 9.5pt; font-style: italic; margin: 0.6em 0 0.2em; }
.authors, .abstract { font-size: 9pt; }
.abstract { border-top: 1px solid #444; border-bottom: 1px solid #444;
            padding: 0.4em 0; margin-bottom: 1em; }
.body { column-count: 2; column-gap: 0.7cm; text-align: justify; hyphens: auto; }
p { margin: 0 0 0.45em; }
.refs p { font-size: 8pt; }
"""


@dataclass(frozen=True)
class Truth:
    item: str
    text: str
    section: str


@dataclass(frozen=True)
class EvalSet:
    name: str
    key: str
    origin: str
    papers: list[list[Truth]]


# --- the sets ----------------------------------------------------------------------


def metrics_section(item: str) -> str:
    if item in METRICS_RESULTS:
        return "results"
    return "statements" if item in METRICS_STATEMENTS else "methods"


def metrics_set() -> EvalSet | None:
    if not METRICS_FILE.exists():
        return None
    by_item: dict[str, list[str]] = defaultdict(list)
    for entry in json.loads(METRICS_FILE.read_text())["passages"]:
        by_item[entry["item"]].append(entry["text"])
    papers: list[list[Truth]] = [[] for _ in range(METRICS_PAPERS)]
    # Round robin from a different paper for each item keeps the papers even.
    for offset, item in enumerate(sorted(by_item, key=int)):
        for n, text in enumerate(by_item[item][:METRICS_PAPERS]):
            papers[(offset + n) % METRICS_PAPERS].append(
                Truth(item, text, metrics_section(item))
            )
    return EvalSet(
        "metrics", "metrics-1.0", "CC BY papers, tagged by METRICS E3", papers
    )


def project_set(name: str, key: str) -> EvalSet | None:
    path = DATA / f"{name}-passages.json"
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    entries = raw["passages"] if isinstance(raw, dict) else raw
    # One paper per variant: each holds one passage per item, like a real paper.
    by_variant: dict[int, list[Truth]] = defaultdict(list)
    for entry in entries:
        section = entry.get("section", "methods")
        section = SECTION_NAMES.get(section, section)
        if section not in SECTIONS:
            section = "methods"
        by_variant[int(entry.get("variant", 1))].append(
            Truth(str(entry["item"]), entry["text"], section)
        )
    origin = "written for this benchmark by the project"
    return EvalSet(name, key, origin, list(by_variant.values()))


def definitions() -> dict[str, Definition]:
    return {d.key: d for d in (parse_definition(doc) for doc in iter_bundled())}


def without_hints(definition: Definition) -> Definition:
    sections = tuple(
        dataclasses.replace(
            s,
            items=tuple(dataclasses.replace(i, evidence_hints=()) for i in s.items),
        )
        for s in definition.sections
    )
    return dataclasses.replace(definition, sections=sections)


# --- papers ------------------------------------------------------------------------


def load_filler() -> dict[str, list[str]]:
    path = DATA / "filler.json"
    if not path.exists():
        sys.exit(f"{path.relative_to(ROOT)} is missing: the papers need its filler.")
    filler: dict[str, list[str]] = json.loads(path.read_text())
    return filler


def paragraphs(texts: list[str]) -> str:
    return "".join(f"<p>{html.escape(t)}</p>" for t in texts)


def section_html(
    title: str,
    filler: list[str],
    truths: list[Truth],
    rng: random.Random,
    lead: int = 3,
) -> str:
    """Filler paragraphs with the passages among them, some inside a paragraph."""
    pool = filler[:]
    rng.shuffle(pool)
    blocks = pool[:lead]
    rest = pool[lead:] or filler
    for n, truth in enumerate(truths):
        if rng.random() < 0.5:
            blocks.append(f"{rest[n % len(rest)]} {truth.text}")
        else:
            blocks += [truth.text, rest[(n + 1) % len(rest)]]
    return f"<h2>{html.escape(title)}</h2>{paragraphs(blocks)}"


def paper_html(
    number: int,
    truths: list[Truth],
    filler: dict[str, list[str]],
    repeat: int = 1,
    layout: int = 1,
) -> str:
    rng = random.Random(f"layout {layout} paper {number}")
    placed = {name: [t for t in truths if t.section == name] for name in SECTIONS}
    intro, results = filler["introduction"], filler["results"]
    title = " ".join(t.text for t in placed["title"]) or (
        f"A radiomics model on routine imaging: synthetic paper {number}"
    )
    opening, finding = intro[0].split(". ")[0], results[0].split(". ")[0]
    abstract = " ".join(
        [f"{opening}.", *(t.text for t in placed["abstract"]), f"{finding}."]
    )
    keywords = " ".join(t.text for t in placed["keywords"]) or (
        "Radiomics; Computed tomography; Prognosis"
    )
    # `repeat` lengthens every section with more filler (the timing paper).
    lead = 3 * repeat
    body = [
        section_html("Introduction", intro * repeat, placed["introduction"], rng, lead),
        section_html(
            "Materials and methods",
            filler["methods"] * repeat,
            placed["methods"],
            rng,
            lead,
        ),
        section_html("Results", results * repeat, placed["results"], rng, lead),
        section_html(
            "Discussion", filler["discussion"] * repeat, placed["discussion"], rng, lead
        ),
    ]
    if placed["statements"]:
        body.append(
            "<h2>Statements</h2>" + paragraphs([t.text for t in placed["statements"]])
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<style>{STYLE}</style><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        '<p class="authors">A. Author, B. Author, C. Author</p>'
        f'<div class="abstract"><p><b>Abstract</b> {html.escape(abstract)}</p>'
        f"<p><b>Keywords</b> {html.escape(keywords)}</p></div>"
        f'<div class="body">{"".join(body)}'
        f'<h2>References</h2><div class="refs">{paragraphs(filler["references"])}'
        "</div></div></body></html>"
    )


def pdf_of(document: str, max_pages: int | None = None) -> tuple[bytes, int]:
    rendered = HTML(string=document).render()
    pages = rendered.pages[:max_pages] if max_pages else rendered.pages
    data: bytes = rendered.copy(pages).write_pdf()
    return data, len(pages)


# --- measuring ---------------------------------------------------------------------


def shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def is_hit(candidate: str, truth: set[tuple[str, ...]]) -> bool:
    mine = shingles(candidate)
    shared = len(mine & truth)
    return shared * 2 >= len(mine) or shared * 2 >= len(truth)


def ranks_for(
    definition: Definition, index: finder.Finder, truths: list[Truth]
) -> list[tuple[str, int]]:
    """(item, rank of the first window that is the passage; 0: not in the top)."""
    found = []
    for truth in truths:
        candidates = index.search(finder.item_search(definition.item(truth.item)), TOP)
        target = shingles(truth.text)
        rank = next(
            (n for n, c in enumerate(candidates, 1) if is_hit(c.text, target)), 0
        )
        found.append((truth.item, rank))
    return found


def summary(ranks: list[tuple[str, int]]) -> dict[str, Any]:
    per_item: dict[str, list[int]] = defaultdict(list)
    for item, rank in ranks:
        per_item[item].append(rank)
    return {
        "n": len(ranks),
        "recall5": round(sum(1 for _, r in ranks if r) / len(ranks), 3),
        "mrr": round(statistics.mean(1 / r if r else 0 for _, r in ranks), 3),
        "per_item": {
            item: round(sum(1 for r in rs if r) / len(rs), 2)
            for item, rs in per_item.items()
        },
    }


def evaluate(
    evalset: EvalSet, definition: Definition, filler: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    with_hints: list[tuple[str, int]] = []
    plain: list[tuple[str, int]] = []
    bare = without_hints(definition)
    for layout in range(1, LAYOUTS + 1):
        for number, truths in enumerate(evalset.papers, start=1):
            data, _ = pdf_of(paper_html(number, truths, filler, layout=layout))
            index = finder.Finder(windows_of(extract(data).pages))
            with_hints += ranks_for(definition, index, truths)
            plain += ranks_for(bare, index, truths)
    return {"hints": summary(with_hints), "no_hints": summary(plain)}


def timing(
    filler: dict[str, list[str]], truths: list[Truth], defs: dict[str, Definition]
) -> dict[str, Any]:
    """A 20-page paper: extraction + indexing (median of 3), then every item."""
    data, pages = pdf_of(paper_html(99, truths, filler, repeat=4), max_pages=20)
    runs, index = [], None
    for _ in range(3):
        started = time.perf_counter()
        index = finder.Finder(windows_of(extract(data).pages))
        runs.append(time.perf_counter() - started)
    assert index is not None
    per_item = []
    started_all = time.perf_counter()
    for definition in defs.values():
        for item in definition.items:
            started = time.perf_counter()
            index.search(finder.item_search(item), TOP)
            per_item.append((time.perf_counter() - started) * 1000)
    all_items = time.perf_counter() - started_all
    per_item.sort()
    return {
        "evidence_20_pages": pages,
        "evidence_20_pages_windows": len(index.passages),
        "evidence_20_pages_extract_index_s": round(statistics.median(runs), 3),
        "evidence_all_items_s": round(all_items, 3),
        "evidence_items_timed": len(per_item),
        "evidence_item_p50_ms": round(statistics.median(per_item), 2),
        "evidence_item_p95_ms": round(per_item[int(0.95 * (len(per_item) - 1))], 2),
    }


def measure() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    filler = load_filler()
    defs = definitions()
    sets = [
        metrics_set(),
        project_set("clear", "clear-1.0"),
        project_set("rqs", "rqs-1.0"),
    ]
    figures: dict[str, Any] = {"evidence_layouts": LAYOUTS}
    details: dict[str, dict[str, Any]] = {}
    for evalset in sets:
        if evalset is None:
            continue
        print(f"Evidence finder: {evalset.name} ({evalset.origin}) ...", flush=True)
        result = evaluate(evalset, defs[evalset.key], filler)
        details[evalset.name] = {"origin": evalset.origin, **result}
        prefix = f"evidence_{evalset.name}"
        figures[f"{prefix}_passages"] = result["hints"]["n"] // LAYOUTS
        for mode, suffix in (("hints", ""), ("no_hints", "_no_hints")):
            figures[f"{prefix}_recall5{suffix}"] = result[mode]["recall5"]
            figures[f"{prefix}_mrr{suffix}"] = result[mode]["mrr"]
    metrics = metrics_set()
    truths = [t for paper in metrics.papers for t in paper] if metrics else []
    print("Evidence finder: timing a 20-page paper ...", flush=True)
    figures.update(timing(filler, truths, defs))
    return figures, details


def report(figures: dict[str, Any], details: dict[str, dict[str, Any]]) -> None:
    for name, detail in details.items():
        print(f"\n{name}: {detail['origin']}")
        hinted, plain = detail["hints"]["per_item"], detail["no_hints"]["per_item"]
        misses = [
            f"{item} {hinted[item]:.2f} (no hints {plain[item]:.2f})"
            for item in hinted
            if hinted[item] < 1
        ]
        print("  items not always found (recall@5): " + (", ".join(misses) or "none"))
        worse = [item for item in hinted if hinted[item] < plain[item]]
        print("  items whose hints lowered recall: " + (", ".join(worse) or "none"))
    print_figures(figures, TARGETS, width=40)


def main() -> None:
    figures, details = measure()
    report(figures, details)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
