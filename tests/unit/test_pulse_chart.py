"""The pulse chart: a PNG drawn without pyplot, and never for a run below the threshold."""

from __future__ import annotations

import io
import sys

import pytest
from matplotlib.image import imread

from bot.charts import pulse as charts
from bot.surveys import compute
from bot.surveys.compute import Response
from bot.surveys.templates import BUILT_IN


def results_for(template: str, values: list[int]) -> compute.PulseResults:
    questions = BUILT_IN[template].questions
    rated = [q.id for q in questions if q.kind != "text"]
    return compute.summarize(
        title=BUILT_IN[template].title,
        questions=questions,
        responses=[Response(dict.fromkeys(rated, v)) for v in values],
        invited=len(values),
        threshold=5,
    )


@pytest.mark.parametrize(("template", "values"), [("quarterly", [1, 2, 3, 4, 5, 5]), ("enps", [0, 7, 9, 10, 10])])
def test_chart_is_a_png_sized_for_its_questions(template: str, values: list[int]) -> None:
    results = results_for(template, values)
    png = charts.pulse_chart("Team A", results, [("2026-W45", 3.2), ("2026-W47", results.index or 20.0)])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    height, width, _ = imread(io.BytesIO(png)).shape
    assert width == 1000
    assert height >= 300
    assert "matplotlib.pyplot" not in sys.modules


def test_more_questions_make_a_taller_chart() -> None:
    short = charts.pulse_chart("A", results_for("enps", [9] * 5), [("W1", 100.0)])
    tall = charts.pulse_chart("A", results_for("quarterly", [4] * 5), [("W1", 4.0)])
    assert imread(io.BytesIO(tall)).shape[0] > imread(io.BytesIO(short)).shape[0]


def test_no_chart_below_the_threshold() -> None:
    with pytest.raises(ValueError, match="below the anonymity threshold"):
        charts.pulse_chart("A", results_for("pulse", [5, 5]), [])


def test_segments_put_unfavourable_answers_left_and_split_neutral() -> None:
    (flow,) = [q for q in results_for("pulse", [1, 2, 3, 4, 5]).questions if q.id == "flow"]
    negative, neutral, positive = charts._segments(flow)
    assert [p for p, _ in negative] == [20.0, 20.0] and neutral == 20.0 and [p for p, _ in positive] == [20.0, 20.0]
