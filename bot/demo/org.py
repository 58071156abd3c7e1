"""The generated org: team personas, deterministic teams (people, repositories, channels) and their ``teams.yml``.

A persona is how a team works (how fast it codes, reviews, ships and recovers); ``generator`` turns a
``TeamSpec`` into a history. The same index and seed always give the same team.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

ORG = "acme"
ATTRIBUTION_WINDOW_H = 24

# --- personas --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    """How a team works: the medians and shares its history is drawn from."""

    key: str
    prs_per_day: float  # opened per repository per working day
    coding_h: float  # first commit → ready for review (median hours)
    pickup_h: float  # ready → first human review
    review_h: float  # first review → merge
    size: int  # median lines changed
    unreviewed: float  # share merged without a human review
    changes_requested: float
    draft: float
    abandoned: float
    merge_methods: tuple[tuple[str, float], ...]
    deploy: str  # "continuous" | "scheduled"
    deploy_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # weekdays of scheduled deployments
    deploy_hours: tuple[float, ...] = (11.0,)  # local hours of scheduled deployments
    deploy_every_weeks: int = 1
    deploy_min: float = 15.0  # median minutes of a production deployment
    deploy_gap_h: float = 0.0  # continuous delivery: the least hours between two deployments of a repository
    staging: float = 0.5  # share of repositories deployed to staging first
    pipeline_failure: float = 0.05  # failed production runs, retried (never deployments)
    failure_rate: float = 0.05  # deployments that cause a failure
    recovery_h: float = 2.0  # median hours to recover from one
    direct_pushes_per_week: float = 0.2  # per repository
    incidents_per_month: float = 0.3  # per team, not caused by a deployment
    flaky: float = 0.03  # CI runs failing then passing on the same SHA
    flaky_recent: float | None = None  # the same share in the last RECENT_WEEKS
    slower_recent: float = 1.0  # pickup and review take this much longer in the last weeks


PERSONAS: dict[str, Persona] = {
    p.key: p
    for p in (
        Persona(
            key="elite",
            prs_per_day=3.2,
            coding_h=3.0,
            pickup_h=0.8,
            review_h=1.2,
            size=70,
            unreviewed=0.03,
            changes_requested=0.12,
            draft=0.10,
            abandoned=0.04,
            merge_methods=(("squash", 0.8), ("rebase", 0.2)),
            deploy="continuous",
            deploy_min=9.0,
            deploy_gap_h=4.0,
            staging=0.0,
            pipeline_failure=0.03,
            failure_rate=0.03,
            recovery_h=0.5,
            direct_pushes_per_week=0.1,
            incidents_per_month=0.9,
            flaky=0.02,
        ),
        Persona(
            key="steady",
            prs_per_day=2.9,
            coding_h=7.0,
            pickup_h=3.0,
            review_h=5.0,
            size=140,
            unreviewed=0.06,
            changes_requested=0.25,
            draft=0.15,
            abandoned=0.06,
            merge_methods=(("squash", 0.6), ("merge", 0.4)),
            deploy="scheduled",
            deploy_days=(1, 3),
            deploy_hours=(11.0,),
            deploy_min=18.0,
            staging=0.3,
            pipeline_failure=0.05,
            failure_rate=0.07,
            recovery_h=3.0,
            direct_pushes_per_week=0.3,
            incidents_per_month=1.0,
            flaky=0.04,
        ),
        Persona(
            key="medium",
            prs_per_day=2.2,
            coding_h=18.0,
            pickup_h=10.0,
            review_h=16.0,
            size=260,
            unreviewed=0.10,
            changes_requested=0.35,
            draft=0.20,
            abandoned=0.08,
            merge_methods=(("merge", 0.7), ("squash", 0.3)),
            deploy="scheduled",
            deploy_days=(2,),
            deploy_hours=(14.0,),
            staging=0.3,
            deploy_min=30.0,
            pipeline_failure=0.08,
            failure_rate=0.12,
            recovery_h=8.0,
            direct_pushes_per_week=0.5,
            incidents_per_month=1.1,
            flaky=0.05,
        ),
        Persona(
            key="struggling",
            prs_per_day=1.7,
            coding_h=40.0,
            pickup_h=30.0,
            review_h=40.0,
            size=520,
            unreviewed=0.25,
            changes_requested=0.45,
            draft=0.25,
            abandoned=0.12,
            merge_methods=(("merge", 0.9), ("squash", 0.1)),
            deploy="scheduled",
            deploy_days=(3,),
            deploy_hours=(15.0,),
            deploy_every_weeks=2,
            deploy_min=55.0,
            pipeline_failure=0.15,
            failure_rate=0.30,
            recovery_h=30.0,
            direct_pushes_per_week=1.2,
            incidents_per_month=2.0,
            flaky=0.08,
        ),
        Persona(
            key="degrading",
            prs_per_day=2.5,
            coding_h=8.0,
            pickup_h=3.0,
            review_h=5.0,
            size=160,
            unreviewed=0.05,
            changes_requested=0.25,
            draft=0.15,
            abandoned=0.06,
            merge_methods=(("squash", 0.7), ("rebase", 0.3)),
            deploy="scheduled",
            deploy_days=(1, 3),
            deploy_hours=(10.0,),
            deploy_min=20.0,
            staging=0.3,
            pipeline_failure=0.05,
            failure_rate=0.08,
            recovery_h=3.0,
            direct_pushes_per_week=0.3,
            incidents_per_month=1.0,
            flaky=0.03,
            flaky_recent=0.30,
            slower_recent=2.5,
        ),
    )
}
# How often each persona appears in a large org.
PERSONA_MIX = (("elite", 0.06), ("steady", 0.25), ("medium", 0.35), ("struggling", 0.18), ("degrading", 0.12))

# --- the org ---------------------------------------------------------------------------------------

# fmt: off
_NOUNS = (
    "payments", "checkout", "search", "mobile", "platform", "identity", "billing", "catalog",
    "orders", "inventory", "shipping", "pricing", "growth", "ads", "analytics", "notifications",
    "messaging", "onboarding", "accounts", "storage", "media", "maps", "reviews", "loyalty",
    "fraud", "ledger", "gateway", "insights", "reporting", "frontend", "design-system", "infra",
    "data", "ml-platform", "observability", "release", "security", "support", "partners", "marketplace",
    "streaming",
)
# fmt: on
_SERVICES = ("api", "web", "worker", "infra", "jobs")
_TIMEZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "UTC",
)
# fmt: off
_FIRST = (
    "alice", "bob", "carla", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jamal", "kofi", "lena", "mateo",
    "nadia", "omar", "priya", "quinn", "rosa", "sven", "tariq", "uma", "viktor", "wen", "xavier", "yusuf", "zoe",
)
# fmt: on
BOT_REVIEWERS = ("lint-bot[bot]", "coverage-bot[bot]", "security-scan[bot]")
PR_VERBS = ("Add", "Fix", "Refactor", "Improve", "Remove", "Update", "Speed up", "Handle", "Document", "Simplify")
PR_OBJECTS = (
    "retry logic in the client",
    "pagination of the list endpoint",
    "error messages on the settings page",
    "the nightly export job",
    "caching of user profiles",
    "timeouts for outbound calls",
    "validation of the signup form",
    "logging around token refresh",
    "the feature flag for the new flow",
    "metrics for queue latency",
    "dark mode styles",
    "the migration for order status",
    "rate limiting on the public API",
    "unit tests for the parser",
    "the dependency on the old SDK",
    "sorting in the admin table",
    "webhook signature checks",
    "search ranking weights",
    "image resizing in uploads",
    "the onboarding checklist",
)
PUSH_MESSAGES = (
    "Bump version",
    "Update changelog",
    "Fix typo in config",
    "Tune worker pool size",
    "Pin base image",
    "Raise memory limit",
)
INCIDENT_TITLES = (
    "Elevated 5xx rate on {service}",
    "Latency above SLO for {service}",
    "Queue backlog growing in {service}",
    "Login failures reported by users",
    "Error budget burn on {service}",
    "Checkout requests timing out",
    "Stale data shown on dashboards",
)


def base36(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(width, "0")


@dataclass(frozen=True)
class TeamSpec:
    """One generated team: its persona, repositories, channel, people and incident service."""

    index: int
    id: str
    name: str
    persona: Persona
    repos: tuple[str, ...]
    timezone: str
    channel: str
    members: tuple[tuple[str, str], ...]  # (Slack id, GitHub login)
    pagerduty_service: str
    multi_region: frozenset[str] = frozenset()  # repositories deployed as one run to several regions
    staged: frozenset[str] = frozenset()  # repositories deployed to staging before production

    @property
    def logins(self) -> list[str]:
        """GitHub logins of the members."""
        return [login for _, login in self.members]


def team_spec(
    index: int,
    *,
    persona: str,
    seed: int = 1,
    team_id: str | None = None,
    repos: int | None = None,
    timezone: str | None = None,
) -> TeamSpec:
    """A deterministic team: the same index and seed always give the same people and repositories."""
    rng = random.Random(f"team:{seed}:{index}")
    noun = _NOUNS[index % len(_NOUNS)]
    ident = team_id or (noun if index < len(_NOUNS) else f"{noun}-{index // len(_NOUNS) + 1}")
    n_repos = repos or rng.choice((1, 2, 2, 3))
    services = rng.sample(_SERVICES, n_repos)
    repo_names = tuple(f"{ORG}/{ident}-{s}" for s in services)
    size = rng.randint(4, 9)
    members = tuple(
        (f"U{base36(7_000_000 + index * 40 + j, 8)}", f"{rng.choice(_FIRST)}-{base36(index * 40 + j, 3).lower()}")
        for j in range(size)
    )
    return TeamSpec(
        index=index,
        id=ident,
        name=ident.replace("-", " ").title(),
        persona=PERSONAS[persona],
        repos=repo_names,
        timezone=timezone or _TIMEZONES[index % len(_TIMEZONES)],
        channel=f"C{base36(9_000_000 + index, 8)}",
        members=members,
        pagerduty_service=f"P{base36(5_000_000 + index * 7, 6)}",
        multi_region=frozenset(r for r in repo_names if rng.random() < 0.1),
        staged=frozenset(r for r in repo_names if rng.random() < PERSONAS[persona].staging),
    )


def org_teams(count: int, *, seed: int = 1) -> list[TeamSpec]:
    """``count`` teams whose personas follow ``PERSONA_MIX`` (deterministic per seed)."""
    rng = random.Random(f"org:{seed}")
    keys = [k for k, _ in PERSONA_MIX]
    weights = [w for _, w in PERSONA_MIX]
    personas = [keys[i % len(keys)] for i in range(min(count, len(keys)))]  # every persona appears
    personas += rng.choices(keys, weights, k=max(0, count - len(personas)))
    return [team_spec(i, persona=p, seed=seed) for i, p in enumerate(personas)]


def teams_yml(specs: Iterable[TeamSpec]) -> str:
    """The ``teams.yml`` text that configures these teams (repos, channels, members, time zones)."""
    teams: dict[str, Any] = {}
    people = []
    for spec in specs:
        slack_ids = [slack for slack, _ in spec.members]
        teams[spec.id] = {
            "name": spec.name,
            "channel": spec.channel,
            "timezone": spec.timezone,
            "repos": list(spec.repos),
            "members": slack_ids,
            "leads": slack_ids[:1],
            "incidents": {
                "github_label": "incident",
                "pagerduty_services": [spec.pagerduty_service],
                "services": [spec.id],
                "attribution_window_hours": ATTRIBUTION_WINDOW_H,
            },
        }
        people += [{"slack": slack, "github": login, "email": f"{login}@example.com"} for slack, login in spec.members]
    return yaml.safe_dump(
        {"defaults": {"timezone": "UTC", "profile": "dora-2023"}, "teams": teams, "people": people},
        sort_keys=False,
        width=200,
    )


DEMO_TEAMS = (
    ("payments", "elite", "Europe/Berlin"),
    ("checkout", "steady", "America/New_York"),
    ("search", "degrading", "Europe/London"),
    ("mobile", "struggling", "Asia/Kolkata"),
)


def demo_specs(*, seed: int = 1) -> tuple[TeamSpec, ...]:
    """The demo's teams, one per persona that tells a story: elite, steady, degrading CI, struggling."""
    specs = [
        team_spec(
            i, persona=persona, seed=seed, team_id=team_id, repos=1 if persona == "struggling" else 2, timezone=tz
        )
        for i, (team_id, persona, tz) in enumerate(DEMO_TEAMS)
    ]
    # One repository deployed region by region, so the demo shows records of one run counted once.
    specs[1] = dataclasses.replace(specs[1], multi_region=frozenset(specs[1].repos[:1]))
    return tuple(specs)
