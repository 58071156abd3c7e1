"""Write realistic delivery histories into the database through the same upserts ingest uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.delivery import service
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config

TEAMS_YML = """\
teams:
  team-a:
    name: Team A
    channel: C0123ABCD
    timezone: Europe/Berlin
    repos: [acme/api, acme/web]
    members: [U01AAAAAAA, U01BBBBBBB]
    leads: [U01AAAAAAA]
    incidents: {github_label: incident, pagerduty_services: [PABC123]}
  team-b:
    name: Team B
    channel: C0456EFGH
    repos: [acme/mobile]
people:
  - {slack: U01AAAAAAA, github: alice, email: alice@example.com}
  - {slack: U01BBBBBBB, github: bob}
"""


def apply_teams(session: Session, text: str = TEAMS_YML) -> None:
    """Load a teams.yml text into the database."""
    apply_config(session=session, config=parse_teams_yaml(text))


class History:
    """A small builder: ``h.merge(...)``, ``h.deploy(...)``, ``h.incident(...)`` with sequential ids."""

    def __init__(self, session: Session, repo: str = "acme/api"):
        self.session, self.repo, self.n = session, repo, 0

    def merge(
        self,
        number: int,
        merged_at: datetime,
        sha: str,
        *,
        first_commit: datetime | None = None,
        title: str = "Change",
        review_at: datetime | None = None,
        reviewer: str = "bob",
        author: str = "alice",
        base_ref: str = "main",
        **fields: Any,
    ) -> Any:
        created = fields.pop("created_at", merged_at - timedelta(hours=6))
        pr = service.upsert_pull_request(
            session=self.session,
            repo=self.repo,
            number=number,
            created_at=created,
            ready_at=created,
            merged_at=merged_at,
            merge_commit_sha=sha,
            title=title,
            author_login=author,
            base_ref=base_ref,
            head_ref=fields.pop("head_ref", f"feature-{number}"),
            url=f"https://github.com/{self.repo}/pull/{number}",
            **fields,
        )
        service.add_pr_commits(
            session=self.session,
            pr=pr,
            commits=[{"sha": f"{sha}-c1", "authored_at": first_commit or merged_at - timedelta(hours=10)}],
        )
        if review_at is not None:
            service.upsert_review(
                session=self.session,
                pr=pr,
                ext_id=f"r{number}",
                reviewer_login=reviewer,
                state="approved",
                submitted_at=review_at,
            )
        return pr

    def push(
        self,
        sha: str,
        landed_at: datetime,
        *,
        authored_at: datetime | None = None,
        message: str = "Tweak",
        push_key: str | None = None,
    ) -> Any:
        return service.upsert_commit(
            session=self.session,
            repo=self.repo,
            sha=sha,
            landed_at=landed_at,
            authored_at=authored_at or landed_at,
            message=message,
            branch="main",
            push_key=push_key or f"{self.repo}:{sha}",
        )

    def deploy(
        self,
        finished_at: datetime,
        sha: str,
        *,
        env: str = "production",
        status: str = "success",
        ext_id: str | None = None,
        started_at: datetime | None = None,
        **fields: Any,
    ) -> Any:
        self.n += 1
        ext = ext_id or f"deploy-{self.n:04d}"
        return service.upsert_deployment(
            session=self.session,
            uid=f"api:{self.repo}:{ext}",
            ext_id=ext,
            source="api",
            repo=self.repo,
            environment=env,
            sha=sha,
            status=status,
            started_at=started_at or finished_at - timedelta(minutes=10),
            finished_at=finished_at,
            url=f"https://ci.example.com/{ext}",
            **fields,
        )

    def incident(self, ident: str, opened_at: datetime, resolved_at: datetime | None = None, **fields: Any) -> Any:
        fields.setdefault("repo", self.repo)
        return service.upsert_incident(
            session=self.session,
            uid=f"api:{ident}",
            source="api",
            opened_at=opened_at,
            resolved_at=resolved_at,
            title=fields.pop("title", f"Incident {ident}"),
            **fields,
        )


def utc(*args: int) -> datetime:
    """``datetime(*args, tzinfo=UTC)``."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
