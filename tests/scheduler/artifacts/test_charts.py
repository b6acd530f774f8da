"""Inline SVG chart geometry."""

from __future__ import annotations

import math

from scheduler.artifacts.charts import charts_for_runs, line_chart


def test_train_and_validation_share_one_chart_per_tag() -> None:
    runs = {
        "validation": {"epoch_loss": [[0.0, 0, 2.0], [0.0, 2, 1.0]]},
        "train": {
            "epoch_loss": [[0.0, 0, 3.0], [0.0, 1, 2.0], [0.0, 2, 0.5]],
            "epoch_accuracy": [[0.0, 0, 0.1]],
        },
    }

    grouped = charts_for_runs(runs)

    assert list(grouped) == ["epoch_accuracy", "epoch_loss"]
    assert [label for label, _ in grouped["epoch_loss"]] == ["train", "validation"]


def test_points_are_scaled_into_the_plot_area() -> None:
    chart = line_chart("loss", [("train", [[0.0, 0, 3.0], [0.0, 10, 1.0]])])

    (line,) = chart.lines
    first, last = (tuple(map(float, pair.split(","))) for pair in line.points.split())
    assert first == (chart.plot_left, chart.plot_top)  # first step, highest value
    assert last == (chart.plot_right, chart.plot_bottom)
    assert line.last_value == 1.0 and line.last_step == 10


def test_gaps_and_empty_series_do_not_break_the_chart() -> None:
    chart = line_chart("loss", [("train", [[0.0, 0, None], [0.0, 1, math.nan]]), ("validation", [])])

    assert chart.empty
    assert [line.count for line in chart.lines] == [0, 0]


def test_a_flat_curve_is_drawn_mid_height() -> None:
    chart = line_chart("accuracy", [("train", [[0.0, 0, 1.0], [0.0, 1, 1.0]])])

    ys = {float(pair.split(",")[1]) for pair in chart.lines[0].points.split()}
    assert ys == {(chart.plot_top + chart.plot_bottom) / 2}
