"""Survey results and the anonymity rules, on hand-built answers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.surveys import compute
from bot.surveys.compute import Previous, Response
from bot.surveys.templates import BUILT_IN
from bot.teams.config import QuestionConfig

PULSE = BUILT_IN["pulse"].questions
ENPS = BUILT_IN["enps"].questions
RATED = [q.id for q in PULSE if q.kind == "scale"]


def pulse_response(value: int, **overrides: object) -> Response:
    answers: dict[str, object] = dict.fromkeys(RATED, value)
    answers.update(overrides)
    return Response(answers=answers)


def summarize(responses: list[Response], threshold: int = 5, previous: Previous | None = None, invited: int = 10):
    return compute.summarize(
        title="Pulse", questions=PULSE, responses=responses, invited=invited, threshold=threshold, previous=previous
    )


def test_below_the_threshold_nothing_but_counts_is_produced() -> None:
    results = summarize([pulse_response(5, slowdown="the build") for _ in range(4)])
    assert not results.shown
    assert (results.responses, results.invited, results.needed) == (4, 10, 1)
    assert results.questions == () and results.comments == () and results.index is None


def test_the_threshold_is_never_below_three() -> None:
    assert not summarize([pulse_response(4)] * 2, threshold=1).shown
    assert summarize([pulse_response(4)] * 3, threshold=1).shown
    assert compute.more_needed(1, threshold=2) == 2


def test_means_distributions_index_and_rate() -> None:
    responses = [pulse_response(v) for v in (1, 2, 3, 4, 5, 5)]
    results = summarize(responses, invited=8)
    assert results.shown and results.response_rate == 0.75
    flow = next(q for q in results.questions if q.id == "flow")
    assert flow.distribution == (1, 1, 1, 1, 2)
    assert flow.mean == pytest.approx(20 / 6, abs=0.01)
    assert results.index == pytest.approx(20 / 6, abs=0.01)
    assert [q.id for q in results.questions] == RATED  # the free-text question is not a figure


def test_an_optional_question_with_too_few_answers_is_hidden_alone() -> None:
    questions = [
        QuestionConfig(id="a", text="A"),
        QuestionConfig(id="b", text="B", optional=True),
    ]
    responses = [Response({"a": 4, "b": 2}) for _ in range(3)] + [Response({"a": 5}) for _ in range(3)]
    results = compute.summarize(title="T", questions=questions, responses=responses, invited=6, threshold=5)
    a, b = results.questions
    assert a.shown and a.mean == 4.5
    assert not b.shown and b.mean is None and b.distribution is None and b.answered == 3
    assert results.index == 4.5  # built from shown questions only


def test_changes_against_the_previous_run() -> None:
    previous = Previous(index=3.0, means={"flow": 2.5, "satisfaction": 4.0}, label="10 Nov")
    results = summarize([pulse_response(4)] * 5, previous=previous)
    by_id = {q.id: q for q in results.questions}
    assert by_id["flow"].change == 1.5
    assert by_id["satisfaction"].change == 0.0
    assert by_id["feedback-loops"].change is None  # not in the earlier run
    assert results.index_change == 1.0 and results.compared_with == "10 Nov"


def test_enps_counts_promoters_minus_detractors() -> None:
    scores = [10, 9, 9, 8, 7, 6, 0, 3, 10, 10]
    results = compute.summarize(
        title="eNPS",
        questions=ENPS,
        responses=[Response({"recommend": s}) for s in scores],
        invited=12,
        threshold=5,
        previous=Previous(index=None, means={}, enps={"recommend": 10.0}),
    )
    (recommend,) = results.questions
    assert recommend.distribution == (1, 0, 0, 1, 0, 0, 1, 1, 1, 2, 3)
    assert recommend.enps == 20.0  # 5 promoters, 3 detractors of 10
    assert recommend.change == 10.0
    assert results.index is None and results.headline_enps == 20.0


def test_comments_have_no_names_and_their_order_reveals_nothing() -> None:
    responses = [
        pulse_response(3, slowdown="  waiting for CI "),
        Response(dict.fromkeys(RATED, 4), comment="Zebra crossing"),
        pulse_response(4, slowdown="Flaky tests"),
        pulse_response(2),
        pulse_response(5, slowdown=""),
    ]
    forward = summarize(responses).comments
    backward = summarize(list(reversed(responses))).comments
    assert forward == backward
    assert [c.text for c in forward] == ["Flaky tests", "waiting for CI", "Zebra crossing"]
    assert forward[0].question == "What slows you down most right now?"


def test_stored_figures_keep_only_shown_questions() -> None:
    figures = summarize([pulse_response(3)] * 5).stored_figures()
    assert set(figures) == set(RATED)
    assert figures["flow"] == {
        "text": next(q.text for q in PULSE if q.id == "flow"),
        "kind": "scale",
        "answered": 5,
        "mean": 3.0,
        "distribution": [0, 0, 5, 0, 0],
        "enps": None,
        "change": None,
    }
    back = compute.previous_from_figures(3.0, figures)
    assert back.means["flow"] == 3.0 and back.index == 3.0


@pytest.mark.parametrize(
    ("answers", "comment", "problem"),
    [
        ({}, None, {"flow": "Please answer this question."}),
        ({"flow": 6}, None, {"flow": "Please pick a value from 1 to 5."}),
        ({"flow": "4"}, None, {"flow": "Please pick a value from 1 to 5."}),
        ({"flow": True}, None, {"flow": "Please pick a value from 1 to 5."}),
        ({"flow": 3, "extra": 1}, None, {"extra": "This question is not part of the survey."}),
        ({"flow": 3}, "x" * 1001, {"comment": "Please keep it under 1000 characters."}),
    ],
)
def test_validation_names_the_question_at_fault(answers: dict, comment: str | None, problem: dict) -> None:
    questions = [QuestionConfig(id="flow", text="Flow")]
    assert compute.validate_answers(questions, answers, comment) == problem


def test_validation_accepts_a_complete_pulse_and_a_skipped_optional_text() -> None:
    assert compute.validate_answers(PULSE, dict.fromkeys(RATED, 3), None) == {}
    assert compute.validate_answers(ENPS, {"recommend": 0}, None) == {}


def test_needed_message_says_how_many_more_and_nothing_else() -> None:
    assert compute.needed_message(4, 5, closed=False) == "4 answers so far; results appear at 5. 1 more needed."
    assert compute.needed_message(1, 5, closed=False) == "1 answer so far; results appear at 5. 4 more needed."
    closed = compute.needed_message(3, 5, closed=True)
    assert closed.startswith("3 answers: results are only shown from 5") and "2 more" in closed


def test_visible_slices_hide_a_small_slice_and_what_would_reveal_it() -> None:
    # Team sizes inside one roll-up: c alone is too small, and hiding only c would leave
    # "total − a − b" = c. The smallest shown slice is hidden as well.
    assert compute.visible_slices({"a": 9, "b": 6, "c": 2}, 5) == {"a"}
    assert compute.visible_slices({"a": 9, "b": 6}, 5) == {"a", "b"}
    assert compute.visible_slices({"a": 9, "b": 2, "c": 3}, 5) == {"a"}  # b + c = 5 hidden together
    assert compute.visible_slices({"a": 4, "b": 1}, 5) == set()


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(min_value=0, max_value=12), min_size=1))
def test_no_hidden_remainder_is_ever_between_one_and_the_threshold(slices: dict[str, int]) -> None:
    shown = compute.visible_slices(slices, 5)
    assert all(slices[name] >= 5 for name in shown)
    hidden = sum(n for name, n in slices.items() if name not in shown)
    assert hidden == 0 or hidden >= 5 or not shown


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=5, max_size=60))
def test_figures_do_not_depend_on_the_order_of_answers(values: list[int]) -> None:
    responses = [pulse_response(v) for v in values]
    assert summarize(responses, invited=60) == summarize(list(reversed(responses)), invited=60)
