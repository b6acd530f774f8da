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


def test_a_run_of_two_steps_gets_two_step_ticks_not_five_repeated_ones() -> None:
    chart = line_chart("loss", [("train", [[0.0, 0, 0.5], [0.0, 1, 0.4]])])
    assert [label for _, label in chart.x_ticks] == ["0", "1"]


def test_a_single_step_run_labels_each_tick_once() -> None:
    chart = line_chart("loss", [("train", [[0.0, 3, 0.5]])])
    labels = [label for _, label in chart.x_ticks]
    assert labels == sorted(set(labels), key=labels.index) and "3" in labels


def test_values_close_together_get_enough_digits_to_tell_the_ticks_apart() -> None:
    chart = line_chart("loss", [("train", [[0.0, 0, 0.91231], [0.0, 1, 0.91236]])])
    labels = [label for _, label in chart.y_ticks]
    assert len(labels) == 5 and len(set(labels)) == 5
    assert labels[0].startswith("0.9123") and labels[-1].startswith("0.9123")


def test_long_runs_keep_five_distinct_step_ticks() -> None:
    chart = line_chart("loss", [("train", [[0.0, step, 1.0 / (step + 1)] for step in range(0, 101)])])
    assert [label for _, label in chart.x_ticks] == ["0", "25", "50", "75", "100"]
