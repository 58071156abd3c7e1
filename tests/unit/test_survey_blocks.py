"""Pulse Block Kit: what people read, within Slack's limits (checked by slack_sdk's own models)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.surveys import blocks, compute
from bot.surveys.compute import Response
from bot.surveys.enums import PulseAction, PulseView, question_block_id
from bot.surveys.templates import BUILT_IN

INFO = blocks.RunInfo(
    run_id=42,
    team_name="Team A",
    title="Developer experience pulse",
    closes="Fri 27 Nov 10:00",
    questions=BUILT_IN["pulse"].questions,
    threshold=5,
)


def assert_valid_message(text: str, message_blocks: list[dict[str, Any]]) -> None:
    assert text.strip()
    assert len(message_blocks) <= 50
    parsed = Block.parse_all(message_blocks)
    for block in parsed:
        block.validate_json()
    assert [b.to_dict() for b in parsed] == message_blocks  # nothing Slack would not understand


def assert_valid_view(view: dict[str, Any]) -> None:
    model = View(**view)
    model.validate_json()
    assert model.to_dict() == view
    assert len(json.dumps(view)) < 250_000


def test_invitation_says_what_until_when_and_the_promise_with_three_buttons() -> None:
    text, message = blocks.invitation(INFO)
    assert_valid_message(text, message)
    assert text == (
        "👋 Team A's developer experience pulse is open until Fri 27 Nov 10:00. 8 questions, about 2 minutes. "
        "Answers are anonymous: results are shown only when 5 or more people answered, and nobody, "
        "admins included, can see who said what."
    )
    buttons = message[1]["elements"]
    assert [b["action_id"] for b in buttons] == [PulseAction.TAKE, PulseAction.REMIND_LATER, PulseAction.SKIP]
    assert [b["text"]["text"] for b in buttons] == ["Take the survey", "Remind me later", "Skip this one"]
    assert {b["value"] for b in buttons} == {'{"run":42}'}


def test_without_reminders_there_is_no_remind_me_later() -> None:
    _, message = blocks.invitation(blocks.RunInfo(**{**INFO.__dict__, "reminders": False}))
    assert PulseAction.REMIND_LATER not in [b["action_id"] for b in message[1]["elements"]]


@pytest.mark.parametrize(
    "build",
    [
        lambda: blocks.reminder(INFO),
        lambda: blocks.answered(INFO, updated=False),
        lambda: blocks.answered(INFO, updated=True),
        lambda: blocks.skipped(INFO),
        lambda: blocks.reminding_later(INFO, "Thu 26 Nov 09:00"),
        lambda: blocks.reminding_later(INFO, None),
    ],
)
def test_every_dm_variant_is_valid(build: Any) -> None:
    assert_valid_message(*build())


def test_the_modal_has_one_labelled_input_per_question_and_the_promise() -> None:
    view = blocks.answer_modal(INFO, blocks.AnswerMeta(run=42, channel="D024BE7LH", ts="1700000000.000100"), None)
    assert_valid_view(view)
    assert view["callback_id"] == PulseView.ANSWER
    assert json.loads(view["private_metadata"]) == {"run": 42, "channel": "D024BE7LH", "ts": "1700000000.000100"}
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [question_block_id(q.id) for q in INFO.questions]
    flow = next(b for b in inputs if b["block_id"] == "pulse-q-flow")
    assert flow["element"]["type"] == "radio_buttons" and not flow["optional"]
    assert [o["text"]["text"] for o in flow["element"]["options"]] == [
        "1 · Strongly disagree",
        "2",
        "3",
        "4",
        "5 · Strongly agree",
    ]
    slowdown = inputs[-1]
    assert slowdown["optional"] and slowdown["element"]["type"] == "plain_text_input"
    assert "nobody, admins included, can see who said what" in view["blocks"][-1]["elements"][0]["text"]
    assert view["submit"]["text"] == "Send answers"


def test_changing_answers_starts_from_the_persons_own() -> None:
    mine = Response(answers={"flow": 2, "slowdown": "meetings"}, comment=None)
    view = blocks.answer_modal(INFO, blocks.AnswerMeta(run=42), mine)
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id["pulse-q-flow"]["element"]["initial_option"]["value"] == "2"
    assert "initial_option" not in by_id["pulse-q-ci-reliability"]["element"]
    assert by_id["pulse-q-slowdown"]["element"]["initial_value"] == "meetings"
    assert view["submit"]["text"] == "Update answers"


def test_enps_uses_a_select_because_radio_buttons_stop_at_ten() -> None:
    info = blocks.RunInfo(1, "Team A", "eNPS", "Fri", BUILT_IN["enps"].questions, 5)
    view = blocks.answer_modal(info, blocks.AnswerMeta(run=1), Response({"recommend": 0}))
    assert_valid_view(view)
    element = view["blocks"][1]["element"]
    assert element["type"] == "static_select" and len(element["options"]) == 11
    assert element["initial_option"]["value"] == "0"


def test_a_survey_without_a_text_question_gets_an_optional_comment() -> None:
    info = blocks.RunInfo(1, "Team A", "Quick", "Fri", BUILT_IN["enps"].questions[:1], 5)
    view = blocks.answer_modal(info, blocks.AnswerMeta(run=1), Response({"recommend": 7}, comment="ok"))
    comment = next(b for b in view["blocks"] if b.get("block_id") == "pulse-comment")
    assert comment["optional"] and comment["element"]["initial_value"] == "ok"


def test_the_longest_survey_fits_a_modal() -> None:
    info = blocks.RunInfo(
        1, "T" * 60, "Quarterly developer experience survey", "Fri", BUILT_IN["quarterly"].questions, 5
    )
    assert_valid_view(blocks.answer_modal(info, blocks.AnswerMeta(run=10**9, channel="D" * 20, ts="1" * 20), None))


def test_state_that_does_not_fit_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match="Slack allows 3000"):
        blocks.AnswerMeta(run=1, channel="D" * 3000).metadata()


def test_notice_and_template_modals_are_valid() -> None:
    assert_valid_view(blocks.notice_modal("Survey closed", "It closed on Friday. Thank you!"))
    assert_valid_view(blocks.template_modal())


def summarize(values: list[int], comments: tuple[str, ...] = (), previous: compute.Previous | None = None):
    rated = [q.id for q in INFO.questions if q.kind == "scale"]
    responses = [
        Response(answers={**dict.fromkeys(rated, v), **({"slowdown": comments[i]} if i < len(comments) else {})})
        for i, v in enumerate(values)
    ]
    return compute.summarize(
        title=INFO.title, questions=INFO.questions, responses=responses, invited=9, threshold=5, previous=previous
    )


def test_results_show_rate_headline_change_questions_and_comments() -> None:
    previous = compute.Previous(index=3.0, means={"flow": 4.0}, label="10 Nov")
    results = summarize([4, 4, 5, 3, 2, 4, 4], comments=("Flaky tests", "Waiting on reviews"), previous=previous)
    text, message = blocks.results_message("Team A", results, "Fri 27 Nov")
    assert_valid_message(text, message)
    assert text == "Team A · Developer experience pulse: Pulse index 3.7 / 5 ▲ +0.7 · 7 of 9 answered (78 %)"
    body = json.dumps(message, ensure_ascii=False)
    assert "changes against 10 Nov" in body
    assert "*3.7* ▼ −0.3 · Lately I get long stretches of focused time" in body
    assert "strongly disagree 14 % · neutral 14 % · strongly agree 71 %" in body
    assert "> Flaky tests" in body and "> Waiting on reviews" in body
    assert "(2, no names)" in body


def test_below_the_threshold_the_results_say_only_the_count() -> None:
    results = summarize([5, 5, 5], comments=("secret",))
    text, message = blocks.results_message("Team A", results, "Fri 27 Nov")
    assert_valid_message(text, message)
    assert len(message) == 1
    assert "secret" not in json.dumps(message) and "5.0" not in text
    assert "3 answers: results are only shown from 5" in text


def test_many_comments_stay_within_one_message() -> None:
    results = summarize([4] * 60, comments=tuple(f"comment {i} " + "x" * 400 for i in range(60)))
    text, message = blocks.results_message("Team A", results, "Fri")
    assert_valid_message(text, message)
    assert "35 more comments" in json.dumps(message)


def test_open_run_line_gives_the_count_and_only_below_the_threshold_the_need() -> None:
    assert blocks.open_run_line("Team A", "Pulse", "Fri 10:00", 4, 5) == (
        "Team A's pulse is open until Fri 10:00: 4 answers so far; results appear at 5. 1 more needed."
    )
    assert "Results are shown when it closes" in blocks.open_run_line("Team A", "Pulse", "Fri", 7, 5)


def test_reading_a_submitted_survey_takes_only_its_own_questions() -> None:
    view = blocks.answer_modal(INFO, blocks.AnswerMeta(run=42), None)
    values: dict[str, Any] = {
        b["block_id"]: {b["element"]["action_id"]: {"type": "radio_buttons", "selected_option": {"value": "4"}}}
        for b in view["blocks"]
        if b.get("type") == "input" and b["element"]["type"] == "radio_buttons"
    }
    values["pulse-q-slowdown"] = {"pulse-q-slowdown": {"type": "plain_text_input", "value": "reviews"}}
    values["pulse-q-flow"]["pulse-q-flow"]["selected_option"] = {"value": "five"}
    values["pulse-q-injected"] = {"pulse-q-injected": {"type": "plain_text_input", "value": "x"}}
    answers, comment = blocks.read_answer_modal(values, INFO.questions)
    assert answers["feedback-loops"] == 4 and answers["slowdown"] == "reviews"
    assert answers["flow"] == "five"  # left as sent: validation names it
    assert "injected" not in answers and comment is None
    problems = compute.validate_answers(INFO.questions, answers, comment)
    assert blocks.answer_errors(problems) == {"pulse-q-flow": "Please pick a value from 1 to 5."}


def _form(**fields: str) -> dict[str, Any]:
    defaults = {
        "pulse-template-key": "retro",
        "pulse-template-title": "Retro check",
        "pulse-template-statements": "We learn from incidents.\n\n  Retros lead to change.  ",
        "pulse-template-low": "Never",
        "pulse-template-high": "Always",
    }
    values = {k: {k: {"type": "plain_text_input", "value": v}} for k, v in {**defaults, **fields}.items()}
    values["pulse-template-enps"] = {
        "pulse-template-enps": {"type": "checkboxes", "selected_options": [{"value": "enps"}]}
    }
    return values


def test_an_admins_template_form_becomes_questions() -> None:
    form = blocks.read_template_modal(_form(**{"pulse-template-text": "What should we change?"}))
    assert (form.key, form.title) == ("retro", "Retro check")
    assert [(q.id, q.kind, q.low, q.high) for q in form.questions] == [
        ("q1", "scale", "Never", "Always"),
        ("q2", "scale", "Never", "Always"),
        ("recommend", "enps", "Not at all likely", "Extremely likely"),
        ("text", "text", "Strongly disagree", "Strongly agree"),
    ]
    assert form.questions[1].text == "Retros lead to change."


@pytest.mark.parametrize(
    ("fields", "block_id"),
    [
        ({"pulse-template-key": "Retro Check"}, "pulse-template-key"),
        ({"pulse-template-title": "  "}, "pulse-template-title"),
        ({"pulse-template-statements": ""}, "pulse-template-statements"),
        ({"pulse-template-statements": "same\nsame"}, "pulse-template-statements"),
        ({"pulse-template-statements": "\n".join(f"s{i}" for i in range(19))}, "pulse-template-statements"),
        ({"pulse-template-low": ""}, "pulse-template-low"),
    ],
)
def test_template_form_problems_are_shown_next_to_the_field(fields: dict[str, str], block_id: str) -> None:
    with pytest.raises(blocks.TemplateFormError) as caught:
        blocks.read_template_modal(_form(**fields))
    assert list(caught.value.errors) == [block_id]
