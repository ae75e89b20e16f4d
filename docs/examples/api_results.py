"""Pull a project's results through the REST API and draw a traffic-light plot.

    RQS_URL=http://127.0.0.1:8000 RQS_TOKEN=rqs_... \\
        python docs/examples/api_results.py demo rqs-1.0 traffic-light.png

Needs requests, pandas and matplotlib. A row per submitted assessment (study
and reviewer), a column per item: green where the item earned points, amber
where it earned none, red where it cost points, grey where it is unanswered.
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import requests

base = os.environ.get("RQS_URL", "http://127.0.0.1:8000")
project, version, out = sys.argv[1], sys.argv[2], sys.argv[3]
api = requests.Session()
api.headers["Authorization"] = f"Bearer {os.environ['RQS_TOKEN']}"


def pages(url, **params):
    """Every row of a paginated list: follow `next` until there is none."""
    while url:
        page = api.get(url, params=params, timeout=60)
        page.raise_for_status()
        body = page.json()
        yield from body["results"]
        url, params = body["next"], None


def label(study):
    """First author and year, as robvis labels a study."""
    first = (study["authors"] or "?").split(";")[0].split(",")[0]
    return f"{first} {study['year'] or ''}".strip()


studies = {
    s["uuid"]: label(s) for s in pages(f"{base}/api/v1/projects/{project}/studies/")
}
answers = pd.DataFrame(
    {
        "study": studies.get(a["study"], a["study"][:8]),
        "reviewer": a["reviewer"]["username"],
        "total": a["score"]["total"],
        "item": answer["item"],
        "points": answer["points"],
    }
    for a in pages(
        f"{base}/api/v1/projects/{project}/assessments/",
        version=version,
        state="submitted",
        kind="reviewer",  # not consensus, training or re-reads
    )
    for answer in a["answers"]
)
print(
    answers.drop_duplicates(["study", "reviewer"])
    .pivot(index="study", columns="reviewer", values="total")
    .to_string()
)

grid = answers.pivot_table(
    index=["study", "reviewer"], columns="item", values="points", aggfunc="first"
)
grid = grid[sorted(grid.columns, key=lambda code: (len(code), code))]


def colour(points):
    if pd.isna(points):
        return "lightgrey"
    return "#2e7d32" if points > 0 else "#f9a825" if points == 0 else "#c62828"


colours = grid.apply(lambda column: column.map(colour))
fig, ax = plt.subplots(figsize=(1 + 0.35 * grid.shape[1], 1 + 0.35 * grid.shape[0]))
for row, (_, line) in enumerate(colours.iterrows()):
    for col, colour in enumerate(line):
        ax.add_patch(plt.Circle((col, row), 0.4, color=colour))
ax.set_xlim(-0.5, grid.shape[1] - 0.5)
ax.set_ylim(grid.shape[0] - 0.5, -0.5)
ax.set_aspect("equal")
ax.set_xticks(range(grid.shape[1]), grid.columns, fontsize=7)
ax.set_yticks(range(grid.shape[0]), [f"{s} ({r})" for s, r in grid.index], fontsize=7)
ax.set_title(f"{project}: {version}, points per item")
fig.tight_layout()
fig.savefig(out, dpi=150)
print(f"wrote {out}")
