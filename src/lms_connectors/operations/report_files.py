"""The KPI report as files: a CSV and a JSON of every figure, and a PNG chart per course and week.

The chart is drawn with matplotlib (the ``reports`` extra: ``pip install "lms-connectors[reports]"``), imported
only when a chart is asked for, so the core stays light.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from lms_connectors.errors import ConfigurationError
from lms_connectors.operations.kpis import Kpis

__all__ = ["write_chart", "write_csv", "write_json"]


def write_csv(kpis: Kpis, path: Path) -> Path:
    """One row per KPI: name, value, what it is made of."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kpi", "value", "made of"])
        writer.writerows(kpis.rows())
    return path


def write_json(kpis: Kpis, path: Path) -> Path:
    """Every count and KPI, with the per-course-and-week figures."""
    path.write_text(json.dumps(kpis.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def write_chart(kpis: Kpis, path: Path) -> Path:
    """Utilisation and no-show rate per course and week, as grouped bars in a PNG.

    Raises:
        ConfigurationError: matplotlib is not installed (the message says which extra brings it).
    """
    try:
        import matplotlib as mpl

        mpl.use("Agg")  # no screen needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigurationError('the chart needs matplotlib: pip install "lms-connectors[reports]"') from exc
    cells = kpis.by_course_week
    labels = [f"{cw.course}\n{cw.week}" for cw in cells]
    utilisation = [100 * (cw.utilisation or 0.0) for cw in cells]
    no_shows = [100 * (cw.no_show_rate or 0.0) for cw in cells]
    positions = range(len(cells))
    width = 0.4
    figure, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(cells)), 4.0))
    axes.bar([p - width / 2 for p in positions], utilisation, width, label="utilisation %")
    axes.bar([p + width / 2 for p in positions], no_shows, width, label="no-show rate %")
    axes.set_xticks(list(positions), labels, fontsize=8)
    axes.set_ylim(0, 100)
    axes.set_ylabel("%")
    axes.set_title("Utilisation and no-shows per course and week")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
