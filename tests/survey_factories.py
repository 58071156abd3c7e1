"""A surveyed team and helpers to open runs and answer them, shared by survey tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.surveys import service
from bot.surveys.models import SurveyRun
from bot.surveys.templates import BUILT_IN
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config, get_team

SECRET = b"survey-test-secret"
MEMBERS = [f"U0SURVEY{i:02d}" for i in range(1, 9)]  # eight people
LEAD, ADMIN, OUTSIDER = MEMBERS[0], "U0ADMIN001", "U0OUTSIDE1"


def teams_yml(members: list[str]) -> str:
    """Team A (Berlin, surveyed every other Tuesday) with these members, Team B, an admin, a custom template."""
    return f"""\
admins: [{ADMIN}]
teams:
  team-a:
    name: Team A
    channel: C0SURVEYA1
    timezone: Europe/Berlin
    repos: [acme/api]
    members: [{", ".join(members)}]
    leads: [{members[0]}]
    survey: {{template: pulse, every_weeks: 2, day: tuesday, time: "10:00", open_days: 3}}
  team-b:
    name: Team B
    channel: C0SURVEYB1
    repos: [acme/web]
    members: [{OUTSIDER}]
people:
  - {{slack: {members[1]}, timezone: America/New_York}}
survey_templates:
  retro:
    title: Retro check
    questions:
      - {{id: safety, text: "I can raise problems in our retro without worrying."}}
      - {{id: follow-up, text: "We follow up on what we agree in retros.", optional: true}}
"""


TEAMS_YML = teams_yml(MEMBERS)

PULSE_RATED = [q.id for q in BUILT_IN["pulse"].questions if q.kind == "scale"]


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def apply_survey_teams(session: Session, text: str = TEAMS_YML) -> None:
    """Load the surveyed teams."""
    apply_config(session=session, config=parse_teams_yaml(text))


def open_pulse(session: Session, now: datetime, template: str = "pulse", team_id: str = "team-a") -> SurveyRun:
    """Open a run of a template for a team."""
    return service.open_run(
        session=session,
        team=get_team(session=session, team_id=team_id),
        template=service.resolve_template(session=session, key=template),
        now=now,
    )


def pulse_answers(value: int, **extra: Any) -> dict[str, Any]:
    """Every rated pulse question answered with ``value``."""
    return {**dict.fromkeys(PULSE_RATED, value), **extra}


def answer(session: Session, run: SurveyRun, slack_id: str, answers: dict[str, Any], now: datetime, **kw: Any) -> bool:
    """Record one person's answers."""
    return service.record_response(
        session=session, run=run, slack_id=slack_id, answers=answers, comment=kw.get("comment"), secret=SECRET, now=now
    )
