"""Reading and writing teams and people in the database (keyword-only, never commits)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session
from sqlmodel import col, select

from bot.db import utcnow
from bot.errors import UserFacingError
from bot.surveys.service import sync_config_templates
from bot.teams.config import PersonConfig, TeamConfig, TeamsConfig
from bot.teams.models import Person, Team, TeamMember, TeamRepo, TeamService


class UnknownTeamError(LookupError):
    """A team id that is not configured; the message lists the valid ones."""

    def __init__(self, team_id: str, known: list[str]):
        self.team_id = team_id
        self.known = known
        valid = ", ".join(known) if known else "none yet: run `sei-bot teams apply teams.yml`"
        super().__init__(f"Unknown team `{team_id}`. Teams: {valid}.")


def apply_config(*, session: Session, config: TeamsConfig) -> dict[str, int]:
    """Make the database match a validated ``teams.yml``: upsert teams and people, drop absent teams."""
    people = {p.slack: p for p in config.people}
    for team in config.teams.values():
        for slack_id in team.members:
            people.setdefault(slack_id, PersonConfig(slack=slack_id))
    for slack_id in config.admins:
        people.setdefault(slack_id, PersonConfig(slack=slack_id))
    person_ids: dict[str, int] = {}
    for slack_id, p in people.items():
        person = _upsert_person(session=session, person=p)
        assert person.id is not None
        person_ids[slack_id] = person.id
    admins = set(config.admins)
    for person in session.scalars(select(Person)):
        person.is_admin = person.slack_id in admins

    existing = {t.id: t for t in session.scalars(select(Team))}
    for team in config.teams.values():
        row = existing.get(team.id) or Team(id=team.id, name=team.name, channel=team.channel)
        row.name, row.channel, row.timezone, row.profile = team.name, team.channel, team.timezone, team.profile
        row.config = team.model_dump(mode="json")
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
        session.execute(delete(TeamRepo).where(col(TeamRepo.team_id) == team.id))
        session.execute(delete(TeamService).where(col(TeamService.team_id) == team.id))
        session.execute(delete(TeamMember).where(col(TeamMember.team_id) == team.id))
        session.add_all(TeamRepo(team_id=team.id, repo=repo) for repo in dict.fromkeys(team.repos))
        services = [*team.incidents.pagerduty_services, *team.incidents.opsgenie_teams, *team.incidents.services]
        session.add_all(TeamService(team_id=team.id, service=s) for s in dict.fromkeys(services))
        session.add_all(
            TeamMember(team_id=team.id, person_id=person_ids[m], role="lead" if m in team.leads else "member")
            for m in dict.fromkeys(team.members)
        )
    sync_config_templates(session=session, templates=config.survey_templates)
    removed = [team_id for team_id in existing if team_id not in config.teams]
    for team_id in removed:
        session.execute(delete(TeamRepo).where(col(TeamRepo.team_id) == team_id))
        session.execute(delete(TeamService).where(col(TeamService.team_id) == team_id))
        session.execute(delete(TeamMember).where(col(TeamMember.team_id) == team_id))
        session.delete(existing[team_id])
    session.flush()
    return {"teams": len(config.teams), "people": len(people), "removed": len(removed)}


def _upsert_person(*, session: Session, person: PersonConfig) -> Person:
    row = session.scalars(select(Person).where(col(Person.slack_id) == person.slack)).first()
    if row is None:
        row = Person(slack_id=person.slack)
    for attr, value in (
        ("github_login", person.github),
        ("gitlab_login", person.gitlab),
        ("email", person.email),
        ("name", person.name),
        ("timezone", person.timezone),
    ):
        if value is not None:
            setattr(row, attr, value)
    session.add(row)
    session.flush()
    return row


def list_teams(*, session: Session) -> list[TeamConfig]:
    """Every configured team, by id."""
    return [TeamConfig.model_validate(t.config) for t in session.scalars(select(Team).order_by(col(Team.id)))]


def get_team(*, session: Session, team_id: str) -> TeamConfig:
    """The configuration of one team; ``UnknownTeamError`` naming the valid ids otherwise."""
    row = session.get(Team, team_id.strip().lower())
    if row is None:
        known = list(session.scalars(select(col(Team.id)).order_by(col(Team.id))))
        raise UnknownTeamError(team_id, known)
    return TeamConfig.model_validate(row.config)


def team_for_channel(*, session: Session, channel_id: str) -> TeamConfig | None:
    """The team whose channel this is, if any."""
    row = session.scalars(select(Team).where(col(Team.channel) == channel_id)).first()
    return None if row is None else TeamConfig.model_validate(row.config)


def teams_for_repo(*, session: Session, repo: str) -> list[str]:
    """Ids of the teams that own a repository."""
    return list(
        session.scalars(select(col(TeamRepo.team_id)).where(col(TeamRepo.repo) == repo).order_by(col(TeamRepo.team_id)))
    )


def teams_for_service(*, session: Session, service: str) -> list[str]:
    """Ids of the teams that own an incident-tool service."""
    return list(
        session.scalars(
            select(col(TeamService.team_id))
            .where(col(TeamService.service) == service)
            .order_by(col(TeamService.team_id))
        )
    )


def person_by_slack_id(*, session: Session, slack_id: str) -> Person | None:
    """The person with this Slack id, if known."""
    return session.scalars(select(Person).where(col(Person.slack_id) == slack_id)).first()


def teams_of_person(*, session: Session, slack_id: str) -> list[tuple[str, str]]:
    """``(team id, role)`` for every team the person belongs to."""
    rows = session.execute(
        select(col(TeamMember.team_id), col(TeamMember.role))
        .join(Person, col(Person.id) == col(TeamMember.person_id))
        .where(col(Person.slack_id) == slack_id)
        .order_by(col(TeamMember.team_id))
    )
    return [(team_id, role) for team_id, role in rows]


def team_for_command(
    *, session: Session, team_id: str | None, channel_id: str | None, command: str = "/dora"
) -> TeamConfig:
    """The team a slash command is about: the one named, else the channel's.

    ``UserFacingError`` when there is none, naming the valid teams.
    """
    if team_id:
        try:
            return get_team(session=session, team_id=team_id)
        except UnknownTeamError as exc:
            raise UserFacingError(str(exc)) from exc
    team = team_for_channel(session=session, channel_id=channel_id) if channel_id else None
    if team is None:
        known = list(session.scalars(select(col(Team.id)).order_by(col(Team.id))))
        example = known[0] if known else "TEAM"
        teams = ", ".join(f"`{t}`" for t in known) if known else "none yet: run `sei-bot teams apply teams.yml`"
        raise UserFacingError(
            f"This channel belongs to no team, so name one: `{command} {example}`. Teams: {teams}. "
            "(A team's `channel:` in teams.yml makes it this channel's default.)"
        )
    return team


def timezones_of(*, session: Session, slack_ids: list[str]) -> dict[str, str | None]:
    """Each person's own time zone where known (``teams.yml`` or Slack), by Slack id."""
    rows = session.execute(select(Person.slack_id, Person.timezone).where(Person.slack_id.in_(slack_ids)))  # type: ignore[attr-defined]
    found: dict[str, str | None] = dict.fromkeys(slack_ids)
    found.update({slack_id: tz for slack_id, tz in rows})
    return found


def set_timezone(*, session: Session, slack_id: str, timezone: str) -> None:
    """Remember a person's Slack time zone unless ``teams.yml`` already gives one."""
    person = person_by_slack_id(session=session, slack_id=slack_id)
    if person is not None and person.timezone is None:
        person.timezone = timezone
        session.add(person)
        session.flush()
