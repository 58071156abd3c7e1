"""Built-in survey templates, as data, and the ``Template`` every survey source turns into.

Three sources feed ``Template``: the built-ins below, ``survey_templates:`` in ``teams.yml`` and
templates an admin creates from Slack (both stored in the ``survey_template`` table). Every scale
question is worded so that a higher answer is the better one: means, the index and the diverging
bars then read the same way for every question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.surveys.enums import QuestionKind
from bot.teams.config import QuestionConfig

TEMPLATE_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Template:
    """A survey: a key, a title and its questions in order."""

    key: str
    title: str
    questions: tuple[QuestionConfig, ...]
    source: str = "built-in"  # built-in | teams.yml | slack

    @property
    def rated(self) -> tuple[QuestionConfig, ...]:
        """The questions answered on a scale (1–5 or 0–10)."""
        return tuple(q for q in self.questions if q.kind != QuestionKind.TEXT)

    def questions_data(self) -> list[dict[str, Any]]:
        """The questions as JSON-ready dicts (the snapshot a run keeps)."""
        return [q.model_dump() for q in self.questions]


def questions_from_data(data: list[dict[str, Any]]) -> tuple[QuestionConfig, ...]:
    """Questions back from a run's or a table row's JSON snapshot."""
    return tuple(QuestionConfig.model_validate(item) for item in data)


def _scale(qid: str, text: str) -> QuestionConfig:
    return QuestionConfig(id=qid, text=text)  # labelled "Strongly disagree" … "Strongly agree"


def _text(qid: str, text: str) -> QuestionConfig:
    return QuestionConfig(id=qid, text=text, kind="text", optional=True)


ENPS_QUESTION = QuestionConfig(
    id="recommend",
    text="How likely are you to recommend this team to a friend as a place to work?",
    kind="enps",
    low="Not at all likely",
    high="Extremely likely",
)

_PULSE_CORE = (
    _scale("feedback-loops", "Builds, tests and previews give me feedback fast enough to keep my momentum."),
    _scale("cognitive-load", "I can hold the systems I work on in my head without feeling swamped."),
    _scale("flow", "Lately I get long stretches of focused time without interruptions."),
    _scale("ci-reliability", "Our CI/CD pipeline is reliable: a red build means a real problem."),
    _scale("review-wait", "My pull requests get reviewed soon enough that waiting rarely holds me up."),
    _scale("deploy-confidence", "I feel confident when my changes go to production."),
    _scale("satisfaction", "Overall, I am satisfied with how we build and ship software."),
)

BUILT_IN: dict[str, Template] = {
    "pulse": Template(
        key="pulse",
        title="Developer experience pulse",
        questions=(*_PULSE_CORE, _text("slowdown", "What slows you down most right now?")),
    ),
    "quarterly": Template(
        key="quarterly",
        title="Quarterly developer experience survey",
        questions=(
            *_PULSE_CORE,
            _scale("local-env", "My local development environment works without constant fixing."),
            _scale("tests", "Our automated tests catch problems before our users do."),
            _scale("codebase", "The code I work in is easy to understand and safe to change."),
            _scale("tech-debt", "We get time to pay down the technical debt that slows us down."),
            _scale("docs", "I can find the documentation or the person I need to unblock myself."),
            _scale("priorities", "Priorities are clear and rarely change halfway through the work."),
            _scale("autonomy", "I can make the decisions my work needs without waiting for approval."),
            _scale("on-call", "Incidents and on-call leave me enough energy for planned work."),
            _scale("growth", "I am learning and growing in my role."),
            _text("biggest-change", "Which one change would make the biggest difference to your work?"),
            _text("keep", "What works well that we should keep doing?"),
        ),
    ),
    "enps": Template(
        key="enps",
        title="Employee Net Promoter Score",
        questions=(ENPS_QUESTION, _text("reason", "What is the main reason for your score?")),
    ),
}
