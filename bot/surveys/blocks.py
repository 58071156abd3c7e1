"""Block Kit for pulse surveys, built by pure functions from plain data (no session, no Slack client).

Every message comes with a plain ``text`` that says the same for notifications and screen readers.
State carried in a button ``value`` or a modal's ``private_metadata`` is a small model checked
against Slack's limits when it is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.surveys.compute import (
    COMMENT_MAX_CHARS,
    Comment,
    PulseResults,
    QuestionResult,
    Response,
    is_visible,
    needed_message,
    option_values,
)
from bot.surveys.enums import PulseAction, PulseBlock, PulseView, QuestionKind, question_block_id
from bot.surveys.templates import ENPS_QUESTION, TEMPLATE_KEY
from bot.teams.config import QuestionConfig

Block = dict[str, Any]

BUTTON_VALUE_MAX = 2000
PRIVATE_METADATA_MAX = 3000
SECTION_MAX = 3000
MESSAGE_BLOCKS_MAX = 50
MODAL_TITLE_MAX = 24
COMMENTS_SHOWN = 25


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def dump(self, limit: int) -> str:
        """Compact JSON, refused when longer than Slack's limit for where it goes."""
        text = self.model_dump_json(exclude_none=True)
        if len(text) > limit:
            raise ValueError(f"{type(self).__name__} is {len(text)} characters; Slack allows {limit}")
        return text


class RunRef(_State):
    """The value of an invitation button: which run it is about."""

    run: int

    def value(self) -> str:
        """As a button value."""
        return self.dump(BUTTON_VALUE_MAX)


class AnswerMeta(_State):
    """A survey modal's ``private_metadata``: the run, and the DM to update once answers are in."""

    run: int
    channel: str | None = None
    ts: str | None = None

    def metadata(self) -> str:
        """As ``private_metadata``."""
        return self.dump(PRIVATE_METADATA_MAX)


@dataclass(frozen=True)
class RunInfo:
    """What a person is told about a run."""

    run_id: int
    team_name: str
    title: str
    closes: str  # "Fri 27 Nov 10:00", in the person's or the team's zone
    questions: tuple[QuestionConfig, ...]
    threshold: int
    reminders: bool = True

    @property
    def minutes(self) -> int:
        """A fair estimate of the time it takes: 10 s a rated question, 40 s a written one."""
        seconds = sum(40 if q.kind == QuestionKind.TEXT else 10 for q in self.questions)
        return max(1, math.ceil(seconds / 60))


def _text(kind: str, text: str) -> dict[str, Any]:
    return {"type": kind, "text": text}


def _section(markdown: str) -> Block:
    return {"type": "section", "text": _text("mrkdwn", markdown[:SECTION_MAX])}


def _context(markdown: str) -> Block:
    return {"type": "context", "elements": [_text("mrkdwn", markdown)]}


def _button(text: str, action: PulseAction, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": _text("plain_text", text), "action_id": action, "value": value}
    if style:
        button["style"] = style
    return button


def anonymity_promise(threshold: int) -> str:
    """The rule, as people are told it everywhere."""
    return (
        f"Answers are anonymous: results are shown only when {threshold} or more people answered, "
        "and nobody, admins included, can see who said what."
    )


def _invitation_buttons(info: RunInfo) -> Block:
    value = RunRef(run=info.run_id).value()
    buttons = [_button("Take the survey", PulseAction.TAKE, value, "primary")]
    if info.reminders:
        buttons.append(_button("Remind me later", PulseAction.REMIND_LATER, value))
    buttons.append(_button("Skip this one", PulseAction.SKIP, value))
    return {"type": "actions", "block_id": "pulse-invitation", "elements": buttons}


def _summary(info: RunInfo) -> str:
    count = len(info.questions)
    return f"{count} question{'s' if count != 1 else ''}, about {info.minutes} minute{'s' if info.minutes != 1 else ''}"


def invitation(info: RunInfo) -> tuple[str, list[Block]]:
    """The DM that opens a survey: what it is, until when, the promise, three buttons."""
    text = (
        f"👋 {info.team_name}'s {info.title.lower()} is open until {info.closes}. "
        f"{_summary(info)}. {anonymity_promise(info.threshold)}"
    )
    return text, [_section(text), _invitation_buttons(info)]


def reminder(info: RunInfo) -> tuple[str, list[Block]]:
    """A reminder DM for someone who has not answered yet."""
    text = (
        f"⏰ A reminder: {info.team_name}'s {info.title.lower()} closes {info.closes}. "
        f"{_summary(info)}. {anonymity_promise(info.threshold)}"
    )
    return text, [_section(text), _invitation_buttons(info)]


def answered(info: RunInfo, *, updated: bool) -> tuple[str, list[Block]]:
    """The invitation DM once answers are in, with a way to change them."""
    first = "✓ Your answers are updated." if updated else "✓ Thanks, your answers are in."
    text = f"{first} You can change them until {info.closes}."
    button = _button("Change my answers", PulseAction.TAKE, RunRef(run=info.run_id).value())
    return text, [_section(text), {"type": "actions", "block_id": "pulse-answered", "elements": [button]}]


def skipped(info: RunInfo) -> tuple[str, list[Block]]:
    """The invitation DM after *Skip this one*: no more reminders, the door stays open."""
    text = (
        f"OK, no reminders for {info.team_name}'s {info.title.lower()}. "
        f"Changed your mind? It is open until {info.closes}."
    )
    button = _button("Take the survey", PulseAction.TAKE, RunRef(run=info.run_id).value())
    return text, [_section(text), {"type": "actions", "block_id": "pulse-skipped", "elements": [button]}]


def reminding_later(info: RunInfo, when: str | None) -> tuple[str, list[Block]]:
    """The invitation DM after *Remind me later*: when the reminder comes (or why it cannot)."""
    if when is None:
        text = (
            f"The survey closes {info.closes}, too soon for a later reminder. It only takes about {info.minutes} min."
        )
    else:
        text = f"OK, I'll remind you {when}. The survey is open until {info.closes}."
    buttons = [
        _button("Take the survey", PulseAction.TAKE, RunRef(run=info.run_id).value(), "primary"),
        _button("Skip this one", PulseAction.SKIP, RunRef(run=info.run_id).value()),
    ]
    return text, [_section(text), {"type": "actions", "block_id": "pulse-later", "elements": buttons}]


# --- modals ----------------------------------------------------------------------------------------


def _option(value: int, label: str | None = None) -> dict[str, Any]:
    text = f"{value} · {label}" if label else str(value)
    return {"text": _text("plain_text", text[:75]), "value": str(value)}


def _question_input(question: QuestionConfig, previous: Any) -> Block:
    block: Block = {
        "type": "input",
        "block_id": question_block_id(question.id),
        "label": _text("plain_text", question.text),
        "optional": question.optional,
    }
    if question.kind == QuestionKind.TEXT:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": block["block_id"],
            "multiline": True,
            "max_length": COMMENT_MAX_CHARS,
        }
        if isinstance(previous, str):
            element["initial_value"] = previous
    else:
        values = option_values(question)
        options = [
            _option(v, question.low if v == values[0] else question.high if v == values[-1] else None) for v in values
        ]
        # Radio buttons take at most 10 options: the 0–10 scale needs a select.
        kind = "radio_buttons" if len(options) <= 10 else "static_select"
        element = {"type": kind, "action_id": block["block_id"], "options": options}
        if kind == "static_select":
            element["placeholder"] = _text("plain_text", f"Pick {values[0]}–{values[-1]}")
        if isinstance(previous, int) and previous in values:
            element["initial_option"] = options[previous - values[0]]
    block["element"] = element
    return block


def answer_modal(info: RunInfo, meta: AnswerMeta, mine: Response | None) -> dict[str, Any]:
    """The survey itself: one input per question, an optional comment, the anonymity promise."""
    blocks: list[Block] = [_section(f"*{info.team_name} · {info.title}*\nOpen until {info.closes}.")]
    previous = mine.answers if mine else {}
    blocks += [_question_input(q, previous.get(q.id)) for q in info.questions]
    if not any(q.kind == QuestionKind.TEXT for q in info.questions):
        comment: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": PulseBlock.COMMENT,
            "multiline": True,
            "max_length": COMMENT_MAX_CHARS,
        }
        if mine and mine.comment:
            comment["initial_value"] = mine.comment
        blocks.append(
            {
                "type": "input",
                "block_id": PulseBlock.COMMENT,
                "label": _text("plain_text", "Anything else you would like to say?"),
                "optional": True,
                "element": comment,
            }
        )
    blocks.append(_context(f"🔒 {anonymity_promise(info.threshold)} You can change your answers until {info.closes}."))
    return {
        "type": "modal",
        "callback_id": PulseView.ANSWER,
        "private_metadata": meta.metadata(),
        "title": _text("plain_text", "Pulse check"),
        "submit": _text("plain_text", "Update answers" if mine else "Send answers"),
        "close": _text("plain_text", "Cancel"),
        "blocks": blocks,
    }


def notice_modal(title: str, message: str) -> dict[str, Any]:
    """A small modal that only says something (a closed survey, a survey meant for others)."""
    return {
        "type": "modal",
        "callback_id": PulseView.NOTICE,
        "title": _text("plain_text", title[:MODAL_TITLE_MAX]),
        "close": _text("plain_text", "OK"),
        "blocks": [_section(message)],
    }


def template_modal() -> dict[str, Any]:
    """The form an admin fills in to create a survey template."""

    def field(block_id: PulseBlock, label: str, element: dict[str, Any], optional: bool = False) -> Block:
        return {
            "type": "input",
            "block_id": block_id,
            "label": _text("plain_text", label),
            "optional": optional,
            "element": {"action_id": block_id, **element},
        }

    text_input = {"type": "plain_text_input"}
    return {
        "type": "modal",
        "callback_id": PulseView.NEW_TEMPLATE,
        "title": _text("plain_text", "New survey template"),
        "submit": _text("plain_text", "Create"),
        "close": _text("plain_text", "Cancel"),
        "blocks": [
            field(
                PulseBlock.TEMPLATE_KEY,
                "Key (used in /pulse start TEAM KEY)",
                {**text_input, "max_length": 64, "placeholder": _text("plain_text", "retro-check")},
            ),
            field(PulseBlock.TEMPLATE_TITLE, "Title", {**text_input, "max_length": 150}),
            field(
                PulseBlock.TEMPLATE_STATEMENTS,
                "Statements rated 1–5, one per line (5 is best)",
                {**text_input, "multiline": True, "max_length": 3000},
            ),
            field(
                PulseBlock.TEMPLATE_LOW,
                "Label of 1",
                {**text_input, "max_length": 40, "initial_value": "Strongly disagree"},
            ),
            field(
                PulseBlock.TEMPLATE_HIGH,
                "Label of 5",
                {**text_input, "max_length": 40, "initial_value": "Strongly agree"},
            ),
            field(PulseBlock.TEMPLATE_TEXT, "Free-text question", {**text_input, "max_length": 150}, optional=True),
            field(
                PulseBlock.TEMPLATE_ENPS,
                "eNPS",
                {
                    "type": "checkboxes",
                    "options": [
                        {
                            "text": _text("plain_text", "Add the 0–10 'would you recommend this team' question"),
                            "value": "enps",
                        }
                    ],
                },
                optional=True,
            ),
        ],
    }


# --- results ---------------------------------------------------------------------------------------


def _signed(value: float, digits: int) -> str:
    return f"+{value:.{digits}f}" if value > 0 else f"−{abs(value):.{digits}f}" if value < 0 else f"±{0:.{digits}f}"


def change_label(change: float | None, digits: int = 1) -> str:
    """``▲ +0.4`` / ``▼ −0.2`` / ``= ±0.0`` (higher is always better here), empty without a comparison."""
    if change is None:
        return ""
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    return f"{arrow} {_signed(change, digits)}"


def _split(result: QuestionResult) -> str:
    """Low / neutral / high shares of a distribution."""
    counts = result.distribution or ()
    total = sum(counts) or 1
    if result.kind == QuestionKind.ENPS:
        parts = (sum(counts[0:7]), sum(counts[7:9]), sum(counts[9:11]))
        names = ("detractors", "passives", "promoters")
    else:
        parts = (sum(counts[0:2]), counts[2] if len(counts) > 2 else 0, sum(counts[3:5]))
        names = (result.low.lower(), "neutral", result.high.lower())
    return " · ".join(f"{name} {round(100 * n / total)} %" for name, n in zip(names, parts, strict=True))


def question_line(result: QuestionResult) -> str:
    """One question's figures as one scannable line (or why it is not shown)."""
    if not result.shown:
        return f"_too few answers to show_ · {result.text}"
    if result.kind == QuestionKind.ENPS:
        figure = f"*eNPS {_signed(result.enps or 0, 0)}* {change_label(result.change, 0)}".rstrip()
    else:
        figure = f"*{result.mean:.1f}* {change_label(result.change)}".rstrip()
    return f"{figure} · {result.text}\n`{_split(result)}`"


def _chunks(lines: Sequence[str], limit: int = SECTION_MAX) -> list[str]:
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:limit])
    return chunks


def _comment_lines(comments: Sequence[Comment]) -> list[str]:
    lines, heading = [], None
    for comment in comments[:COMMENTS_SHOWN]:
        if comment.question != heading:
            heading = comment.question
            lines.append(f"*{heading}*")
        lines.append("> " + comment.text[:500].replace("\n", "\n> "))
    if len(comments) > COMMENTS_SHOWN:
        lines.append(f"_…and {len(comments) - COMMENTS_SHOWN} more comments._")
    return lines


def headline(results: PulseResults) -> str:
    """The index (or eNPS) with its change: ``Pulse index 3.6 / 5 ▲ +0.3``."""
    if results.index is not None:
        return f"Pulse index {results.index:.1f} / 5 {change_label(results.index_change)}".rstrip()
    if results.headline_enps is not None:
        return f"eNPS {_signed(results.headline_enps, 0)}"
    return "No rated question had enough answers to show"


def _rate(results: PulseResults) -> str:
    rate = f" ({round(100 * results.response_rate)} %)" if results.response_rate is not None else ""
    return f"{results.responses} of {results.invited} answered{rate}"


def results_message(team_name: str, results: PulseResults, closed: str) -> tuple[str, list[Block]]:
    """A closed run's results: rate, headline and change, every question, comments without names.

    Below the threshold: how many answered and how many more would have been needed, nothing else.
    """
    if not results.shown:
        needed = needed_message(results.responses, results.threshold, closed=True)
        text = f"{team_name} · {results.title} (closed {closed}): {needed}"
        return text, [_section(text)]
    compared = f" · changes against {results.compared_with}" if results.compared_with else ""
    text = f"{team_name} · {results.title}: {headline(results)} · {_rate(results)}"
    blocks: list[Block] = [
        {"type": "header", "text": _text("plain_text", f"📊 {team_name} · {results.title}"[:150])},
        _context(f"Closed {closed} · {_rate(results)}{compared}"),
        _section(f"*{headline(results)}*"),
    ]
    blocks += [_section(chunk) for chunk in _chunks([question_line(q) for q in results.questions])]
    if results.comments:
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*What people wrote* ({len(results.comments)}, no names)"))
        blocks += [_section(chunk) for chunk in _chunks(_comment_lines(results.comments))]
    blocks.append(_context(f"🔒 {anonymity_promise(results.threshold)}"))
    if len(blocks) > MESSAGE_BLOCKS_MAX:
        blocks = [*blocks[: MESSAGE_BLOCKS_MAX - 2], _context("_More comments than one message can hold._"), blocks[-1]]
    return text, blocks


def open_run_line(team_name: str, title: str, closes: str, responses: int, threshold: int) -> str:
    """What is said about a run still open: its answer count and, below the threshold, how many more."""
    if is_visible(responses, threshold):
        status = f"{responses} answers so far. Results are shown when it closes."
    else:
        status = needed_message(responses, threshold, closed=False)
    return f"{team_name}'s {title.lower()} is open until {closes}: {status}"


# --- reading submitted modals ----------------------------------------------------------------------


def _field(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    field = (values.get(block_id) or {}).get(block_id)
    return field if isinstance(field, dict) else {}


def _typed(raw: Any) -> Any:
    """An option value as the integer it stands for; anything else as it came (validation names it)."""
    return int(raw) if isinstance(raw, str) and raw.isdigit() else raw


def read_answer_modal(values: dict[str, Any], questions: Sequence[QuestionConfig]) -> tuple[dict[str, Any], str | None]:
    """Answers by question id, and the comment, from a submitted survey's ``state.values``.

    Only the run's own questions are read; whatever else a payload carries is ignored.
    """
    answers: dict[str, Any] = {}
    for question in questions:
        field = _field(values, question_block_id(question.id))
        if question.kind == QuestionKind.TEXT:
            answers[question.id] = field.get("value")
        else:
            answers[question.id] = _typed((field.get("selected_option") or {}).get("value"))
    comment = _field(values, PulseBlock.COMMENT).get("value")
    return answers, comment if isinstance(comment, str) else None


def answer_errors(problems: dict[str, str]) -> dict[str, str]:
    """Problems by question id as Slack's ``errors`` by block id (``response_action: errors``)."""
    return {PulseBlock.COMMENT if qid == "comment" else question_block_id(qid): text for qid, text in problems.items()}


class TemplateFormError(ValueError):
    """The template form has problems, by block id."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


@dataclass(frozen=True)
class TemplateForm:
    """A template as an admin described it in the form."""

    key: str
    title: str
    questions: tuple[QuestionConfig, ...]


def _text_of(values: dict[str, Any], block_id: PulseBlock) -> str:
    value = _field(values, block_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def read_template_modal(values: dict[str, Any]) -> TemplateForm:
    """The template described in the form; ``TemplateFormError`` names each field at fault."""
    errors: dict[str, str] = {}
    key = _text_of(values, PulseBlock.TEMPLATE_KEY).lower()
    if not TEMPLATE_KEY.fullmatch(key):
        errors[PulseBlock.TEMPLATE_KEY] = "Use lower-case letters, digits, '-' or '_' (up to 64)."
    title = _text_of(values, PulseBlock.TEMPLATE_TITLE)
    if not title:
        errors[PulseBlock.TEMPLATE_TITLE] = "Give the survey a title."
    statements = [
        line.strip() for line in _text_of(values, PulseBlock.TEMPLATE_STATEMENTS).splitlines() if line.strip()
    ]
    if not 1 <= len(statements) <= 18:
        errors[PulseBlock.TEMPLATE_STATEMENTS] = "Write 1 to 18 statements, one per line."
    elif any(len(s) > 150 for s in statements):
        errors[PulseBlock.TEMPLATE_STATEMENTS] = "Keep each statement under 150 characters."
    elif len(set(statements)) != len(statements):
        errors[PulseBlock.TEMPLATE_STATEMENTS] = "A statement is there twice."
    low, high = _text_of(values, PulseBlock.TEMPLATE_LOW), _text_of(values, PulseBlock.TEMPLATE_HIGH)
    for block_id, label in ((PulseBlock.TEMPLATE_LOW, low), (PulseBlock.TEMPLATE_HIGH, high)):
        if not label or len(label) > 40:
            errors[block_id] = "A label of 1 to 40 characters."
    text_question = _text_of(values, PulseBlock.TEMPLATE_TEXT)
    if len(text_question) > 150:
        errors[PulseBlock.TEMPLATE_TEXT] = "Keep the question under 150 characters."
    if errors:
        raise TemplateFormError(errors)
    questions = [QuestionConfig(id=f"q{i}", text=s, low=low, high=high) for i, s in enumerate(statements, 1)]
    checked = _field(values, PulseBlock.TEMPLATE_ENPS).get("selected_options") or []
    if any(isinstance(o, dict) and o.get("value") == "enps" for o in checked):
        questions.append(ENPS_QUESTION)
    if text_question:
        questions.append(QuestionConfig(id="text", text=text_question, kind="text", optional=True))
    return TemplateForm(key=key, title=title, questions=tuple(questions))


def help_text(channel_team: str | None) -> str:
    """What ``/pulse`` does, with the channel's team as the example."""
    team = channel_team or "TEAM"
    return "\n".join(
        [
            "*Pulse surveys*: short anonymous surveys by DM; results only from the anonymity threshold up.",
            f"• `/pulse {team}`: the latest results (response rate, each question, changes, comments, a chart)",
            f"• `/pulse start {team} [TEMPLATE]` and `/pulse close {team}`: for the team's leads and admins",
            "• `/pulse templates`: the surveys that can be started · `/pulse template new`: admins create one",
        ]
    )


def templates_text(templates: Sequence[Any]) -> str:
    """The templates that can be started, one line each."""
    lines = [
        f"• `{t.key}`: {t.title} ({len(t.questions)} questions{'' if t.source == 'built-in' else ', ' + t.source})"
        for t in templates
    ]
    return "*Survey templates* (`/pulse start TEAM TEMPLATE`)\n" + "\n".join(lines)
