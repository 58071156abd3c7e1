"""Ids of pulse-survey buttons, views and blocks, and the states of runs and participants.

Builders (``blocks.py``) and listeners (``bot/handlers/pulse.py``) import the same names, so they
cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum


class PulseAction(StrEnum):
    """``action_id`` of every pulse button."""

    TAKE = "pulse-take"
    REMIND_LATER = "pulse-remind-later"
    SKIP = "pulse-skip"


class PulseView(StrEnum):
    """``callback_id`` of every pulse modal."""

    ANSWER = "pulse-answer"
    NOTICE = "pulse-notice"
    NEW_TEMPLATE = "pulse-template-new"


class PulseBlock(StrEnum):
    """``block_id`` of modal inputs, also their element's ``action_id`` (questions: ``question_block_id``)."""

    QUESTION_PREFIX = "pulse-q-"
    COMMENT = "pulse-comment"
    TEMPLATE_KEY = "pulse-template-key"
    TEMPLATE_TITLE = "pulse-template-title"
    TEMPLATE_STATEMENTS = "pulse-template-statements"
    TEMPLATE_LOW = "pulse-template-low"
    TEMPLATE_HIGH = "pulse-template-high"
    TEMPLATE_TEXT = "pulse-template-text"
    TEMPLATE_ENPS = "pulse-template-enps"


def question_block_id(question_id: str) -> str:
    """The input block of one question: ``pulse-q-flow``."""
    return f"{PulseBlock.QUESTION_PREFIX}{question_id}"


class RunStatus(StrEnum):
    """A survey run is open until it is closed; closing is final."""

    OPEN = "open"
    CLOSED = "closed"


class ParticipantStatus(StrEnum):
    """What the bot may still do for an invited person (whether they answered is never stored here)."""

    INVITED = "invited"
    SKIPPED = "skipped"


class QuestionKind(StrEnum):
    """A 1–5 scale with labelled ends, a 0–10 eNPS scale, or free text."""

    SCALE = "scale"
    ENPS = "enps"
    TEXT = "text"
