"""Line charts as plain geometry for inline SVG: no JavaScript, no CDN, works without scripts.

Train and validation (and several jobs when comparing) share one chart per tag, each series a
polyline; the template draws axes, ticks and a legend from the numbers computed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 60
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 30
TICKS = 5
PALETTE_SIZE = 8


@dataclass
class Line:
    label: str
    colour: int  # index into the page's palette (CSS classes series-0..7)
    points: str  # SVG polyline points, "x,y x,y ..."
    last_step: int | None
    last_value: float | None
    count: int


@dataclass
class Chart:
    title: str
    lines: list[Line] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = MARGIN_LEFT
    plot_right: int = WIDTH - MARGIN_RIGHT
    plot_top: int = MARGIN_TOP
    plot_bottom: int = HEIGHT - MARGIN_BOTTOM

    @property
    def empty(self) -> bool:
        return not any(line.count for line in self.lines)


def _finite(points: list[Any]) -> list[tuple[int, float]]:
    return [
        (int(step), float(value))
        for _, step, value in points
        if isinstance(value, int | float) and math.isfinite(value)
    ]


def line_chart(title: str, series: list[tuple[str, list[Any]]]) -> Chart:
    """One chart for `series` [(label, [[wall_time, step, value], ...]), ...]."""
    chart = Chart(title=title)
    clean = [(label, _finite(points)) for label, points in series]
    every = [point for _, points in clean for point in points]
    if not every:
        chart.lines = [Line(label, i % PALETTE_SIZE, "", None, None, 0) for i, (label, _) in enumerate(clean)]
        return chart
    x_low, x_high = min(p[0] for p in every), max(p[0] for p in every)
    y_low, y_high = min(p[1] for p in every), max(p[1] for p in every)
    if x_high == x_low:
        x_high = x_low + 1
    if y_high == y_low:
        y_low, y_high = y_low - 0.5, y_high + 0.5
    span_x = chart.plot_right - chart.plot_left
    span_y = chart.plot_bottom - chart.plot_top

    def x_of(step: float) -> float:
        return chart.plot_left + (step - x_low) / (x_high - x_low) * span_x

    def y_of(value: float) -> float:
        return chart.plot_bottom - (value - y_low) / (y_high - y_low) * span_y

    for index, (label, points) in enumerate(clean):
        chart.lines.append(
            Line(
                label=label,
                colour=index % PALETTE_SIZE,
                points=" ".join(f"{x_of(step):.1f},{y_of(value):.1f}" for step, value in points),
                last_step=points[-1][0] if points else None,
                last_value=points[-1][1] if points else None,
                count=len(points),
            )
        )
    chart.x_ticks = [(round(x_of(step), 1), str(step)) for step in step_ticks(x_low, x_high)]
    chart.y_ticks = [(round(y_of(value), 1), label) for value, label in value_ticks(y_low, y_high)]
    return chart


def step_ticks(low: int, high: int) -> list[int]:
    """Up to TICKS distinct whole steps from `low` to `high`, both included: a run of 1 or 2 steps gets
    1 or 2 ticks, never "0 0 0 1 1"."""
    if high - low < TICKS - 1:
        return list(range(low, high + 1))
    return sorted({round(low + tick * (high - low) / (TICKS - 1)) for tick in range(TICKS)})


def value_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """TICKS evenly spaced values from `low` to `high`, labelled with as many significant digits as it takes
    for no two labels to read the same (a loss between 0.91231 and 0.91236 is not five ticks of "0.912")."""
    values = [low + tick * (high - low) / (TICKS - 1) for tick in range(TICKS)]
    for digits in range(3, 10):
        labels = [f"{value:.{digits}g}" for value in values]
        if len(set(labels)) == len(labels):
            break
    return list(zip(values, labels, strict=True))


def charts_for_runs(runs: dict[str, dict[str, list[Any]]], prefix: str = "") -> dict[str, list[tuple[str, list[Any]]]]:
    """Series grouped by tag: each tag's chart gets one line per run (train, validation...)."""
    by_tag: dict[str, list[tuple[str, list[Any]]]] = {}
    for run in sorted(runs, key=lambda name: (name != "train", name)):
        for tag, points in runs[run].items():
            by_tag.setdefault(tag, []).append((f"{prefix}{run}", points))
    return dict(sorted(by_tag.items()))
