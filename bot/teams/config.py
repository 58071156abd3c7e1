"""``teams.yml``: the schema, defaults, and validation errors that name the file, line and field."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
TEAM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
REPO = re.compile(r"^(gitlab:)?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


class TeamsConfigError(ValueError):
    """``teams.yml`` is invalid; ``str()`` is one line per problem: ``file:line: field: problem``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def normalize_day(value: str) -> str:
    """``Monday`` / ``monday`` / ``mon`` → ``mon``."""
    key = str(value).strip().lower()
    if key in DAYS:
        return key
    if key in _FULL:
        return _FULL[key]
    raise ValueError(f"unknown day {value!r} (use mon … sun)")


def parse_hhmm(value: str) -> time:
    """``"09:30"`` → ``time(9, 30)``."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise ValueError(f"{value!r} is not a time of day like 09:00")
    return time(int(match.group(1)), int(match.group(2)))


def _check_tz(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from exc
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductionConfig(_Strict):
    """What counts as production: deployment environments (a regex), the branch, deploy workflows."""

    environments: str = "^(production|prod)$"
    branch: str = "main"
    # Workflow file names or names whose successful runs on the branch count as deployments.
    workflows: list[str] = Field(default_factory=list)

    @field_validator("environments")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    def is_production(self, environment: str | None) -> bool:
        """True when an environment name matches the production pattern (case-insensitive)."""
        return bool(environment) and re.search(self.environments, environment or "", re.IGNORECASE) is not None


class DigestConfig(_Strict):
    """When the weekly digest is posted (team time zone)."""

    enabled: bool = True
    day: str = "mon"
    time: str = "09:00"

    _day = field_validator("day")(classmethod(lambda cls, v: normalize_day(v)))

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_hhmm(value)
        return value


class SurveyConfig(_Strict):
    """Pulse survey cadence: every ``every_weeks`` weeks on ``day`` at ``time``, open ``open_days``."""

    enabled: bool = True
    template: str = "pulse"
    every_weeks: int = Field(default=2, ge=1, le=52)
    day: str = "tue"
    time: str = "10:00"
    open_days: int = Field(default=3, ge=1, le=30)
    reminders: int = Field(default=2, ge=0, le=2)

    _day = field_validator("day")(classmethod(lambda cls, v: normalize_day(v)))

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_hhmm(value)
        return value


class ReviewsConfig(_Strict):
    """Review nudges: thresholds in working hours, the working day, holidays."""

    threshold_hours: float = Field(default=8, gt=0)
    escalate_hours: float = Field(default=16, gt=0)
    working_hours: str = "09:00-17:00"
    working_days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    holidays: list[date] = Field(default_factory=list)

    @field_validator("working_days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        return [normalize_day(v) for v in value]

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        parts = str(value).split("-")
        if len(parts) != 2:
            raise ValueError(f"{value!r} is not a range like 09:00-17:00")
        start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
        if start >= end:
            raise ValueError(f"{value!r}: the start must be before the end")
        return value


class IncidentsConfig(_Strict):
    """Where incidents come from and how they are attributed to deployments."""

    github_label: str = "incident"
    pagerduty_services: list[str] = Field(default_factory=list)
    opsgenie_teams: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)  # names used by the generic API
    attribution_window_hours: float = Field(default=24, gt=0, le=24 * 30)


class TargetsConfig(_Strict):
    """Targets the team set itself; shown beside the figures, never used to rank."""

    lead_time_hours: float | None = Field(default=None, gt=0)
    change_failure_rate: float | None = Field(default=None, ge=0, le=1)
    deploys_per_week: float | None = Field(default=None, ge=0)
    recovery_hours: float | None = Field(default=None, gt=0)


class TeamConfig(_Strict):
    """One team block of ``teams.yml`` with defaults applied."""

    id: str
    name: str
    channel: str
    timezone: str = "UTC"
    profile: str = "dora-2023"
    anonymity_threshold: int = Field(default=5, ge=3)
    repos: list[str] = Field(min_length=1)
    production: ProductionConfig = Field(default_factory=ProductionConfig)
    members: list[str] = Field(default_factory=list)
    leads: list[str] = Field(default_factory=list)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    survey: SurveyConfig = Field(default_factory=SurveyConfig)
    reviews: ReviewsConfig = Field(default_factory=ReviewsConfig)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    targets: TargetsConfig = Field(default_factory=TargetsConfig)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not TEAM_ID.match(value):
            raise ValueError(f"team id {value!r} must be lower-case letters, digits, '-' or '_'")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not CHANNEL_ID.match(value):
            raise ValueError(f"{value!r} is not a Slack channel id like C0123ABCD")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_tz(value)

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        from bot.metrics.profiles import PROFILES

        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r} (one of {', '.join(sorted(PROFILES))})")
        return value

    @field_validator("repos")
    @classmethod
    def _repos(cls, value: list[str]) -> list[str]:
        for repo in value:
            if not REPO.match(repo):
                raise ValueError(f"{repo!r} is not owner/name (or gitlab:group/project)")
        return value

    @field_validator("members", "leads")
    @classmethod
    def _slack_ids(cls, value: list[str]) -> list[str]:
        for slack_id in value:
            if not SLACK_ID.match(slack_id):
                raise ValueError(f"{slack_id!r} is not a Slack user id like U01AAAAAAA")
        return value

    @model_validator(mode="after")
    def _leads_are_members(self) -> TeamConfig:
        missing = [lead for lead in self.leads if lead not in self.members]
        if missing:
            # Leads are members too; adding them keeps the two lists from drifting apart.
            object.__setattr__(self, "members", [*self.members, *missing])
        return self


class PersonConfig(_Strict):
    """A person: Slack id plus the logins and e-mail that tie them to delivery data."""

    slack: str
    github: str | None = None
    gitlab: str | None = None
    email: str | None = None
    name: str | None = None
    timezone: str | None = None

    @field_validator("slack")
    @classmethod
    def _slack(cls, value: str) -> str:
        if not SLACK_ID.match(value):
            raise ValueError(f"{value!r} is not a Slack user id like U01AAAAAAA")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _check_tz(value)


class QuestionConfig(_Strict):
    """A survey question: a 1–5 scale with labelled ends, a 0–10 (eNPS) scale, or free text."""

    id: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    text: str = Field(min_length=1, max_length=150)
    kind: Literal["scale", "enps", "text"] = "scale"
    low: str = Field(default="Strongly disagree", max_length=40)
    high: str = Field(default="Strongly agree", max_length=40)
    optional: bool = False


class SurveyTemplateConfig(_Strict):
    """A team-defined survey template."""

    title: str = Field(min_length=1, max_length=150)
    questions: list[QuestionConfig] = Field(min_length=1, max_length=20)

    @field_validator("questions")
    @classmethod
    def _unique_ids(cls, value: list[QuestionConfig]) -> list[QuestionConfig]:
        ids = [q.id for q in value]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"question ids must be unique; repeated: {', '.join(repeated)}")
        if all(q.kind == "text" for q in value):
            raise ValueError("a survey needs at least one question answered on a scale (kind scale or enps)")
        return value


class Defaults(_Strict):
    """Values every team inherits unless it sets its own."""

    timezone: str = "UTC"
    anonymity_threshold: int = Field(default=5, ge=3)
    profile: str = "dora-2023"
    production: dict[str, Any] = Field(default_factory=dict)
    digest: dict[str, Any] = Field(default_factory=dict)
    survey: dict[str, Any] = Field(default_factory=dict)
    reviews: dict[str, Any] = Field(default_factory=dict)
    incidents: dict[str, Any] = Field(default_factory=dict)
    targets: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _check_tz(value)


class TeamsFile(_Strict):
    """The whole of ``teams.yml``."""

    defaults: Defaults = Field(default_factory=Defaults)
    teams: dict[str, Annotated[dict[str, Any], Field()]] = Field(min_length=1)
    people: list[PersonConfig] = Field(default_factory=list)
    admins: list[str] = Field(default_factory=list)
    survey_templates: dict[str, SurveyTemplateConfig] = Field(default_factory=dict)


class TeamsConfig(BaseModel):
    """A validated configuration: teams with their defaults applied, people, admins, templates."""

    model_config = ConfigDict(frozen=True)

    teams: dict[str, TeamConfig]
    people: list[PersonConfig]
    admins: list[str]
    survey_templates: dict[str, SurveyTemplateConfig]
    source: str = "teams.yml"

    def team_for_channel(self, channel_id: str) -> TeamConfig | None:
        """The team whose channel this is, if any."""
        return next((t for t in self.teams.values() if t.channel == channel_id), None)


# --- YAML with line numbers -------------------------------------------------------------------


class _Located:
    """Maps a path of keys/indexes to the 1-based line it was written on."""

    def __init__(self) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}

    def line_for(self, path: tuple[Any, ...]) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def _construct(node: yaml.Node, path: tuple[Any, ...], located: _Located, problems: list[str], name: str) -> Any:
    located.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            if key in result:
                problems.append(f"{name}:{key_node.start_mark.line + 1}: {_dotted((*path, key))}: duplicate key")
            located.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, (*path, key), located, problems, name)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), located, problems, name) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _merge(defaults: dict[str, Any], team: dict[str, Any]) -> dict[str, Any]:
    merged = dict(team)
    for key in ("production", "digest", "survey", "reviews", "incidents", "targets"):
        base = defaults.get(key) or {}
        if base and isinstance(merged.get(key, {}), dict):
            merged[key] = {**base, **(merged.get(key) or {})}
    for key in ("timezone", "anonymity_threshold", "profile"):
        merged.setdefault(key, defaults[key])
    return merged


def _errors(exc: ValidationError, prefix: tuple[Any, ...], located: _Located, name: str) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = (*prefix, *loc)
        line = located.line_for(path)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see the README for every key)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        problems.append(f"{name}:{line or 1}: {_dotted(path)}: {msg}")
    return problems


def parse_teams_yaml(text: str, name: str = "teams.yml") -> TeamsConfig:
    """Validate the text of a ``teams.yml``; raise ``TeamsConfigError`` listing every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise TeamsConfigError([f"{name}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if root is None:
        raise TeamsConfigError([f"{name}:1: the file is empty; it needs at least a 'teams:' section"])
    located = _Located()
    problems: list[str] = []
    data = _construct(root, (), located, problems, name)
    if not isinstance(data, dict):
        raise TeamsConfigError([f"{name}:1: the top level must be a mapping with a 'teams:' key"])
    try:
        top = TeamsFile.model_validate(data)
    except ValidationError as exc:
        raise TeamsConfigError(problems + _errors(exc, (), located, name)) from exc
    defaults = top.defaults.model_dump()
    teams: dict[str, TeamConfig] = {}
    for team_id, block in top.teams.items():
        if not isinstance(block, dict):
            problems.append(f"{name}:{located.line_for(('teams', team_id))}: teams.{team_id}: must be a mapping")
            continue
        if "id" in block:
            problems.append(f"{name}:{located.line_for(('teams', team_id, 'id'))}: teams.{team_id}.id: unknown key")
            continue
        merged = _merge(defaults, block)
        merged.setdefault("name", str(team_id).replace("-", " ").title())
        try:
            teams[str(team_id)] = TeamConfig.model_validate({"id": str(team_id), **merged})
        except ValidationError as exc:
            problems += _errors(exc, ("teams", team_id), located, name)
    channels: dict[str, str] = {}
    for team in teams.values():
        if team.channel in channels:
            problems.append(
                f"{name}:{located.line_for(('teams', team.id, 'channel'))}: teams.{team.id}.channel: "
                f"{team.channel} is already the channel of {channels[team.channel]}"
            )
        channels[team.channel] = team.id
    seen: dict[str, int] = {}
    for i, person in enumerate(top.people):
        if person.slack in seen:
            problems.append(
                f"{name}:{located.line_for(('people', i))}: people[{i}].slack: {person.slack} is listed twice"
            )
        seen[person.slack] = i
    for i, admin in enumerate(top.admins):
        if not SLACK_ID.match(admin):
            problems.append(f"{name}:{located.line_for(('admins', i))}: admins[{i}]: {admin!r} is not a Slack user id")
    if problems:
        raise TeamsConfigError(problems)
    return TeamsConfig(
        teams=teams, people=top.people, admins=top.admins, survey_templates=top.survey_templates, source=name
    )


def load_teams_file(path: str | Path) -> TeamsConfig:
    """Read and validate a ``teams.yml`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise TeamsConfigError([f"{path}: file not found (set SEI_TEAMS_FILE or pass the path)"]) from exc
    except OSError as exc:
        raise TeamsConfigError([f"{path}: cannot be read: {exc.strerror}"]) from exc
    return parse_teams_yaml(text, name=str(path))
