"""Trends for the report: a site's pending findings per completed run, by severity, and the bar chart
(inline SVG, laid out here and drawn by the template) that shows them.

"Pending" means what the report counts as 待整改: not resolved and not set aside by a waiver in force
on that run's date.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from govaudit.findings import SEVERITY_ORDER
from govaudit.models import CrawlRun, FindingRecord
from reports.common import SEVERITY_LABELS

TREND_RUNS = 30
SEVERITIES = tuple(SEVERITY_ORDER)  # veto major minor info: stacked from the bottom up

# Chart geometry, in SVG user units (the SVG scales to the page width).
WIDTH = 760
LEFT, RIGHT, TOP = 44, 12, 34
PLOT_HEIGHT = 150
MIN_SLOTS = 8  # a single run gets a bar as wide as one of eight, not the whole width
LABEL_WIDTH = 68  # an ISO date at the chart's font size: below this, dates are written at 45°


@dataclass
class RunCounts:
    """Pending findings of one completed run, by severity."""

    run_id: int
    as_of: dt.date
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def severity_history(session: Session, run: CrawlRun, limit: int = TREND_RUNS) -> list[RunCounts]:
    """Pending findings by severity for the site's last ``limit`` completed runs up to ``run``, oldest
    first, in one grouped query (a run without pending findings still gets its row, with no counts)."""
    window = (
        select(CrawlRun.id, CrawlRun.as_of)
        .where(CrawlRun.site_id == run.site_id, CrawlRun.id <= run.id, CrawlRun.status == "completed")
        .order_by(CrawlRun.id.desc())
        .limit(limit)
        .subquery()
    )
    pending = and_(
        FindingRecord.crawl_run_id == window.c.id,
        FindingRecord.status != "resolved",
        or_(FindingRecord.waived_until.is_(None), FindingRecord.waived_until < window.c.as_of),
    )
    stmt = (
        select(window.c.id, window.c.as_of, FindingRecord.severity, func.count(FindingRecord.id))
        .select_from(window)
        .outerjoin(FindingRecord, pending)
        .group_by(window.c.id, window.c.as_of, FindingRecord.severity)
    )
    runs: dict[int, RunCounts] = {}
    for run_id, as_of, severity, count in session.execute(stmt):
        entry = runs.setdefault(run_id, RunCounts(run_id, as_of))
        if severity is not None:
            entry.counts[severity if severity in SEVERITY_ORDER else "info"] += count
    return [runs[run_id] for run_id in sorted(runs)]


# --- the chart ---------------------------------------------------------------------------------


@dataclass
class Segment:
    severity: str
    count: int
    y: float
    height: float


@dataclass
class BarGroup:
    """One run: its stacked bar, its date label and its hover text."""

    run: RunCounts
    label: str
    x: float  # left edge of the bar
    centre: float
    top: float  # y of the bar's top (for the total written above it)
    segments: list[Segment]

    @property
    def tooltip(self) -> str:
        parts = "，".join(f"{SEVERITY_LABELS[s]} {self.run.counts[s]}" for s in SEVERITIES)
        return f"{self.label}（运行 {self.run.run_id}）：{parts}，合计 {self.run.total}"


@dataclass
class Chart:
    """A stacked bar chart of ``history``; coordinates are final, the template only draws them."""

    history: list[RunCounts]
    groups: list[BarGroup]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    legend: list[tuple[float, str]]  # (x, severity)
    bar_width: float
    rotate_labels: bool
    width: int
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    label_y: float

    @property
    def latest(self) -> RunCounts | None:
        return self.history[-1] if self.history else None

    @property
    def description(self) -> str:
        """The chart in words (its <desc>): the span it covers and the newest counts."""
        if not self.history:
            return "没有已完成的检查。"
        first, last = self.history[0], self.history[-1]
        span = first.as_of.isoformat() if len(self.history) == 1 else f"{first.as_of} 至 {last.as_of}"
        parts = "，".join(f"{SEVERITY_LABELS[s]} {last.counts[s]} 项" for s in SEVERITIES)
        peak = max(self.history, key=lambda r: (r.total, r.run_id))
        return (f"最近 {len(self.history)} 次已完成的检查（{span}）每次的待整改问题数，按严重程度堆叠。"
                f"最近一次（{last.as_of}）：{parts}，合计 {last.total} 项；"
                f"最多的一次为 {peak.as_of}，{peak.total} 项。")


def _step(top: int) -> int:
    """A 1-2-5 grid step giving at most five lines up to ``top``."""
    magnitude = 10 ** max(0, int(math.log10(max(top, 1))) - 1)
    for base in (1, 2, 5, 10, 20, 50, 100):
        if top / (base * magnitude) <= 5:
            return base * magnitude
    return 100 * magnitude


def _labels(history: list[RunCounts]) -> list[str]:
    """The runs' dates; a second run on the same day is told apart as ``2024-06-30（2）``."""
    labels, seen = [], Counter()
    for entry in history:
        seen[entry.as_of] += 1
        n = seen[entry.as_of]
        labels.append(entry.as_of.isoformat() if n == 1 else f"{entry.as_of.isoformat()}（{n}）")
    return labels


def trend_chart(history: list[RunCounts]) -> Chart:
    """Lay out ``history`` (oldest first) as stacked bars, one per run, with dated x labels."""
    plot_left, plot_right = LEFT, WIDTH - RIGHT
    slot = (plot_right - plot_left) / max(len(history), MIN_SLOTS)
    rotate = slot < LABEL_WIDTH
    plot_top, plot_bottom = TOP, TOP + PLOT_HEIGHT
    # Headroom above the tallest bar for the total written on top of it.
    highest = max((r.total for r in history), default=0) * 1.1
    step = _step(math.ceil(highest))
    scale_top = max(step, math.ceil(highest / step) * step)
    per_unit = PLOT_HEIGHT / scale_top
    bar_width = round(slot * 0.64, 1)
    groups = []
    for i, (entry, label) in enumerate(zip(history, _labels(history), strict=True)):
        centre = plot_left + slot * (i + 0.5)
        y = plot_bottom
        segments = []
        for severity in SEVERITIES:
            count = entry.counts[severity]
            if count:
                height = count * per_unit
                y -= height
                segments.append(Segment(severity, count, round(y, 1), round(height, 1)))
        groups.append(BarGroup(entry, label, round(centre - bar_width / 2, 1), round(centre, 1), round(y, 1),
                               segments))
    ticks = [(round(plot_bottom - v * per_unit, 1), v) for v in range(0, scale_top + 1, step)]
    legend = [(plot_left + i * 92, severity) for i, severity in enumerate(SEVERITIES)]
    # A date written at 45° needs about 48 units below the axis; a level one needs a line.
    height = plot_bottom + (64 if rotate else 26)
    return Chart(history, groups, ticks, legend, bar_width, rotate, WIDTH, height,
                 plot_left, plot_right, plot_top, plot_bottom, plot_bottom + 14)
