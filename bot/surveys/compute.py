"""Survey results as pure functions: distributions, means, eNPS, the index, trends and the anonymity rules.

The rules that keep answers anonymous live here, so every surface that shows survey figures uses them:

- A group is shown only with at least ``threshold`` responses (never fewer than ``MIN_THRESHOLD``).
- A question's figures are shown only when at least ``threshold`` people answered *that* question
  (an optional question can have fewer answers than the survey has responses).
- A change against an earlier run is shown only when both runs, and the question in both, were shown.
- Slices of one group shown side by side (teams within a roll-up) must not let anyone subtract the
  shown slices from the whole to reveal a hidden one: ``visible_slices`` hides more until they cannot.
- Results of a run are computed once, when it closes. Live figures of an open run would let anyone
  compare two views a few answers apart, which is exactly the subtraction the rules above forbid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from statistics import fmean
from typing import Any

from bot.surveys.enums import QuestionKind
from bot.teams.config import QuestionConfig

MIN_THRESHOLD = 3
SCALES: dict[str, tuple[int, int]] = {QuestionKind.SCALE: (1, 5), QuestionKind.ENPS: (0, 10)}
COMMENT_MAX_CHARS = 1000


def effective_threshold(threshold: int) -> int:
    """The threshold actually applied: never below ``MIN_THRESHOLD``."""
    return max(MIN_THRESHOLD, threshold)


def is_visible(responses: int, threshold: int) -> bool:
    """True when a group of ``responses`` may be shown."""
    return responses >= effective_threshold(threshold)


def more_needed(responses: int, threshold: int) -> int:
    """How many more answers a group needs before it can be shown."""
    return max(0, effective_threshold(threshold) - responses)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def needed_message(responses: int, threshold: int, *, closed: bool) -> str:
    """The one thing said about a group below the threshold: how many answers it has and needs."""
    k = effective_threshold(threshold)
    if closed:
        return (
            f"{_plural(responses, 'answer')}: results are only shown from {k}, "
            f"so nothing is shown for this survey ({more_needed(responses, threshold)} more "
            "would have been needed)."
        )
    return (
        f"{_plural(responses, 'answer')} so far; results appear at {k}. "
        f"{more_needed(responses, threshold)} more needed."
    )


def option_values(question: QuestionConfig) -> range:
    """The values a rated question accepts (``1..5`` or ``0..10``)."""
    low, high = SCALES[question.kind]
    return range(low, high + 1)


def validate_answers(
    questions: Sequence[QuestionConfig], answers: Mapping[str, Any], comment: str | None
) -> dict[str, str]:
    """Problems with a submission, keyed by question id (``"comment"`` for the comment); empty when valid."""
    problems: dict[str, str] = {}
    known = {q.id for q in questions}
    for unknown in sorted(set(answers) - known):
        problems[unknown] = "This question is not part of the survey."
    for q in questions:
        value = answers.get(q.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            if not q.optional:
                problems[q.id] = "Please answer this question."
            continue
        if q.kind == QuestionKind.TEXT:
            if not isinstance(value, str):
                problems[q.id] = "Please answer in words."
            elif len(value) > COMMENT_MAX_CHARS:
                problems[q.id] = f"Please keep it under {COMMENT_MAX_CHARS} characters."
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value not in option_values(q):
            low, high = SCALES[q.kind]
            problems[q.id] = f"Please pick a value from {low} to {high}."
    if comment is not None and len(comment) > COMMENT_MAX_CHARS:
        problems["comment"] = f"Please keep it under {COMMENT_MAX_CHARS} characters."
    return problems


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """One response as stored: rated values and text answers by question id, and a general comment."""

    answers: Mapping[str, Any]
    comment: str | None = None


@dataclass(frozen=True)
class Previous:
    """The figures of the last shown run of the same survey, for changes (from ``SurveyResult``)."""

    index: float | None
    means: Mapping[str, float]
    enps: Mapping[str, float] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class QuestionResult:
    """One rated question's figures (all ``None`` when too few answered it)."""

    id: str
    text: str
    kind: str
    low: str
    high: str
    answered: int
    shown: bool
    mean: float | None = None
    distribution: tuple[int, ...] | None = None  # counts for each value, lowest first
    enps: float | None = None  # promoters − detractors, in points (eNPS questions)
    change: float | None = None  # against the previous run: mean (scale) or points (eNPS)

    @property
    def values(self) -> range:
        """The values the distribution counts, lowest first."""
        low, high = SCALES[self.kind]
        return range(low, high + 1)


@dataclass(frozen=True)
class Comment:
    """A free-text answer, without any name, with the question it answers."""

    question: str
    text: str


@dataclass(frozen=True)
class PulseResults:
    """Everything a surface may show about one run; empty figures when it is below the threshold."""

    title: str
    threshold: int
    invited: int
    responses: int
    shown: bool
    response_rate: float | None
    index: float | None = None
    index_change: float | None = None
    questions: tuple[QuestionResult, ...] = ()
    comments: tuple[Comment, ...] = ()
    compared_with: str = ""

    @property
    def needed(self) -> int:
        """Answers still missing to reach the threshold."""
        return more_needed(self.responses, self.threshold)

    @property
    def headline_enps(self) -> float | None:
        """The eNPS of a survey that has an eNPS question and no 1–5 questions (its headline)."""
        if self.index is not None:
            return None
        return next((q.enps for q in self.questions if q.kind == QuestionKind.ENPS and q.shown), None)

    def stored_figures(self) -> dict[str, Any]:
        """What ``SurveyResult.questions`` keeps for digests, insights and later trends (shown questions)."""
        return {
            q.id: {
                "text": q.text,
                "kind": q.kind,
                "answered": q.answered,
                "mean": q.mean,
                "distribution": list(q.distribution or ()),
                "enps": q.enps,
                "change": q.change,
            }
            for q in self.questions
            if q.shown
        }


def enps_score(distribution: Sequence[int]) -> float | None:
    """eNPS from counts of 0…10: percentage of promoters (9–10) minus detractors (0–6)."""
    total = sum(distribution)
    if not total:
        return None
    promoters, detractors = sum(distribution[9:11]), sum(distribution[0:7])
    return round(100 * (promoters - detractors) / total, 1)


def _question_result(
    question: QuestionConfig, responses: Sequence[Response], threshold: int, previous: Previous | None
) -> QuestionResult:
    values = option_values(question)
    given = [r.answers[question.id] for r in responses if isinstance(r.answers.get(question.id), int)]
    given = [v for v in given if v in values]
    hidden = QuestionResult(
        id=question.id,
        text=question.text,
        kind=question.kind,
        low=question.low,
        high=question.high,
        answered=len(given),
        shown=False,
    )
    if not is_visible(len(given), threshold):
        return hidden
    distribution = tuple(given.count(v) for v in values)
    mean = round(fmean(given), 2)
    enps = enps_score(distribution) if question.kind == QuestionKind.ENPS else None
    change = None
    if previous is not None:
        if question.kind == QuestionKind.ENPS and question.id in previous.enps and enps is not None:
            change = round(enps - previous.enps[question.id], 1)
        elif question.kind == QuestionKind.SCALE and question.id in previous.means:
            change = round(mean - previous.means[question.id], 2)
    return replace(hidden, shown=True, mean=mean, distribution=distribution, enps=enps, change=change)


def summarize(
    *,
    title: str,
    questions: Sequence[QuestionConfig],
    responses: Sequence[Response],
    invited: int,
    threshold: int,
    previous: Previous | None = None,
) -> PulseResults:
    """The results of one closed run under the anonymity rules."""
    count = len(responses)
    rate = round(count / invited, 4) if invited else None
    if not is_visible(count, threshold):
        return PulseResults(title, threshold, invited, count, shown=False, response_rate=rate)
    results = tuple(
        _question_result(q, responses, threshold, previous) for q in questions if q.kind != QuestionKind.TEXT
    )
    scale_means = [q.mean for q in results if q.kind == QuestionKind.SCALE and q.mean is not None]
    index = round(fmean(scale_means), 2) if scale_means else None
    index_change = None
    if index is not None and previous is not None and previous.index is not None:
        index_change = round(index - previous.index, 2)
    return PulseResults(
        title,
        threshold,
        invited,
        count,
        shown=True,
        response_rate=rate,
        index=index,
        index_change=index_change,
        questions=results,
        comments=collect_comments(questions, responses),
        compared_with=previous.label if previous is not None else "",
    )


def collect_comments(questions: Sequence[QuestionConfig], responses: Sequence[Response]) -> tuple[Comment, ...]:
    """Every free-text answer and comment, sorted so that their order says nothing about who wrote them."""
    labels = {q.id: q.text for q in questions if q.kind == QuestionKind.TEXT}
    found = []
    for response in responses:
        for qid, label in labels.items():
            text = response.answers.get(qid)
            if isinstance(text, str) and text.strip():
                found.append(Comment(label, text.strip()))
        if response.comment and response.comment.strip():
            found.append(Comment("Comment", response.comment.strip()))
    order = {label: i for i, label in enumerate([*labels.values(), "Comment"])}
    return tuple(sorted(found, key=lambda c: (order[c.question], c.text.casefold())))


def previous_from_figures(index: float | None, figures: Mapping[str, Any], label: str = "") -> Previous:
    """``Previous`` from a stored ``SurveyResult`` (``index_value`` and ``questions``)."""
    means = {qid: f["mean"] for qid, f in figures.items() if f.get("kind") == "scale" and f.get("mean") is not None}
    enps = {qid: f["enps"] for qid, f in figures.items() if f.get("kind") == "enps" and f.get("enps") is not None}
    return Previous(index=index, means=means, enps=enps, label=label)


# --- slices ----------------------------------------------------------------------------------------


def visible_slices(slices: Mapping[str, int], threshold: int) -> set[str]:
    """Which slices of one group may be shown beside the group's total.

    Each shown slice needs the threshold. The hidden ones together must also reach it (or be empty):
    otherwise "total minus the shown slices" would reveal them. While they do not, the smallest shown
    slice is hidden too (the usual secondary suppression).
    """
    shown = {name for name, n in slices.items() if is_visible(n, threshold)}
    while True:
        hidden_total = sum(n for name, n in slices.items() if name not in shown)
        if hidden_total == 0 or is_visible(hidden_total, threshold) or not shown:
            return shown
        shown.remove(min(shown, key=lambda name: (slices[name], name)))
