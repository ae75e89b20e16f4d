"""Every figure of the dashboards and reports, rendered as SVG on the server.

Pure: imports nothing of ours outside this package and no Django, so the web
page, the PDF worker and the tests draw the very same figures.

* ``base``: the house style (palette, fonts), SVG writing under a lock, and the
  ``Chart``/``Table`` pair: each chart comes with a title, axis labels, alt
  text and a data table, since a figure alone is unreadable to a screen reader
  and imprecise to everyone else;
* ``bars``: bar charts, histograms, stacked bars, box plots, item adherence;
* ``robvis``: the risk-of-bias traffic-light and summary plots.
"""

from .bars import adherence_chart, bar_chart, box_by_group, histogram, stacked_bars
from .base import FONT, NO_DATA, OKABE_ITO, RC, SIZE, Chart, Table
from .robvis import LEVELS, MAX_STUDIES, OVERALL, rob_summary, traffic_light

__all__ = [
    "FONT",
    "LEVELS",
    "MAX_STUDIES",
    "NO_DATA",
    "OKABE_ITO",
    "OVERALL",
    "RC",
    "SIZE",
    "Chart",
    "Table",
    "adherence_chart",
    "bar_chart",
    "box_by_group",
    "histogram",
    "rob_summary",
    "stacked_bars",
    "traffic_light",
]
