"""From webhooks to ``/dora``: a scripted sequence of signed GitHub deliveries (PR opened → commits
pushed → reviewed → merged → deployed → incident → resolved), normalised by the background
normaliser, then ``/dora`` through the real app and ``sei-bot report --json`` show the numbers.

Payloads are the shared octokit fixtures with this story's repository, times and SHAs.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from bot.cli import main
from bot.db import session_scope, utcnow
from bot.ingest import worker
from bot.ingest.models import RawEvent
from tests.fakes.live_app import LiveApp, live_settings, run_live_app
from tests.fakes.slack_api import FakeSlack

SECRET = "e2e-webhook-secret"
GH = "github-webhooks/octokit-payload-examples"
H = timedelta(hours=1)
BASE, MERGE = "b" * 40, "a1" * 20
REPO = "acme/api"


@pytest.fixture
def bot(fake_slack: FakeSlack, engine: Engine, db_url: str) -> Iterator[LiveApp]:
    settings = live_settings(fake_slack, db_url, github_webhook_secret=SECRET)
    with run_live_app(settings, engine, fake_slack) as app:
        yield app


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Story:
    """Builds this story's deliveries from the shared fixtures and posts them, signed."""

    def __init__(self, fixtures: Path, url: str):
        self.fixtures, self.url = fixtures, url

    def load(self, path: str) -> dict[str, Any]:
        payload = json.loads((self.fixtures / GH / path).read_bytes())
        payload["repository"]["full_name"] = REPO
        return payload

    def send(self, event: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature}
        response = httpx.post(f"{self.url}/webhooks/github", content=body, headers=headers)
        assert response.status_code == 202, response.text

    def pull_request(self, action: str, at: datetime, opened: datetime, **changes: Any) -> None:
        payload = self.load("pull_request/opened.payload.json")
        payload["action"] = action
        pr = payload["pull_request"]
        pr.update(number=42, title="Faster checkout", created_at=iso(opened), updated_at=iso(at), draft=False)
        pr["head"]["ref"], pr["base"]["ref"] = "faster-checkout", "main"
        pr.update(changes)
        self.send("pull_request", payload)

    def push(self, branch: str, after: str, at: datetime, commits: list[tuple[str, datetime]]) -> None:
        payload = self.load("push/with-new-branch.payload.json")
        payload.update(ref=f"refs/heads/{branch}", after=after, created=False)
        payload["repository"]["pushed_at"] = int(at.timestamp())
        template = payload["commits"][0]
        payload["commits"] = [copy.deepcopy(template) | {"id": sha, "timestamp": iso(t)} for sha, t in commits]
        self.send("push", payload)

    def deploy(self, ext_id: int, sha: str, created: datetime, finished: datetime) -> None:
        payload = self.load("deployment_status/payload.json")
        payload["deployment"].update(id=ext_id, sha=sha, environment="production", created_at=iso(created))
        created_event = {k: v for k, v in payload.items() if k != "deployment_status"} | {"action": "created"}
        self.send("deployment", created_event)
        payload["deployment_status"].update(state="success", environment="production", created_at=iso(finished))
        self.send("deployment_status", payload)

    def issue(self, action: str, opened: datetime, closed: datetime | None = None) -> None:
        payload = self.load("issues/opened.payload.json")
        payload["action"] = action
        payload["issue"].update(
            number=7,
            title="Checkout errors after deploy",
            body=f"Spike of 500s.\n\nroot cause: {MERGE}",
            labels=[{"name": "incident"}],
            created_at=iso(opened),
            state="closed" if closed else "open",
            closed_at=iso(closed) if closed else None,
        )
        self.send("issues", payload)


def test_webhook_story_to_dora(
    bot: LiveApp, fixtures_dir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    t0 = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=10)
    story = Story(fixtures_dir, bot.url)
    [normaliser] = worker.start_normaliser(bot.settings, bot.engine)
    try:
        story.deploy(1000, BASE, t0 - timedelta(days=30), t0 - timedelta(days=30) + H)  # the baseline deployment
        story.pull_request("opened", t0, t0)
        story.push("faster-checkout", "c1" * 20, t0 + H / 6, [("c1" * 20, t0 - 2 * H)])  # first commit: 2 h before
        review = story.load("pull_request_review/submitted.payload.json")
        review["pull_request"].update(number=42, created_at=iso(t0), updated_at=iso(t0 + 3 * H))
        review["review"].update(state="approved", submitted_at=iso(t0 + 3 * H), user={"login": "bob", "type": "User"})
        story.send("pull_request_review", review)
        story.pull_request(
            "closed", t0 + 4 * H, t0, state="closed", merged=True, merged_at=iso(t0 + 4 * H),
            closed_at=iso(t0 + 4 * H), merge_commit_sha=MERGE,
        )  # fmt: skip
        story.push("main", MERGE, t0 + 4 * H, [(MERGE, t0 + 4 * H)])
        story.deploy(1001, MERGE, t0 + 5 * H, t0 + 6 * H)  # lead time: 2 h before opening → 6 h after = 8 h
        story.issue("opened", t0 + 7 * H)
        story.issue("closed", t0 + 7 * H, closed=t0 + 9 * H)  # recovery: 6 h → 9 h = 3 h
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with session_scope(bot.engine) as session:
                pending = session.scalar(select(func.count()).select_from(RawEvent).where(RawEvent.status == "pending"))
            if not pending:
                break
            time.sleep(0.05)
    finally:
        normaliser.stop()
    with session_scope(bot.engine) as session:
        statuses = dict(session.execute(select(RawEvent.status, func.count()).group_by(RawEvent.status)).all())
    assert statuses == {"done": 11}

    reply = bot.driver.command("/dora", "team-a")
    assert reply.status == 200 and reply.elapsed < 3
    [post] = bot.slack.wait_for("chat.postMessage")
    shown = json.dumps(post.args["blocks"], ensure_ascii=False) + post.args["text"]
    assert "Lead time for changes 8.0 h" in post.args["text"]
    assert "1 of 1 deployments" in shown and "Change failure rate*\\n100 %" in shown
    assert "coding 2 h · pickup 3 h · review 1 h · deploy 2 h" in shown
    assert "3.0 h" in shown and "1 recovered · 0 open" in shown

    monkeypatch.setenv("DATABASE_URL", db_url)
    capsys.readouterr()
    assert main(["report", "team-a", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["deployment_frequency"]["deployments"] == 1
    assert report["lead_time"]["changes"] == 1 and report["lead_time"]["median_s"] == 8 * 3600
    stages = report["lead_time"]["stages"]
    assert (stages["coding_s"], stages["pickup_s"], stages["review_s"], stages["deploy_s"]) == (7200, 10800, 3600, 7200)
    assert report["change_failure_rate"]["failed"] == 1 and report["change_failure_rate"]["rate"] == 1.0
    assert report["recovery_time"]["median_s"] == 3 * 3600
    restore = report["time_to_restore"]
    assert (restore["resolved"], restore["open"], restore["median_s"]) == (1, 0, 2 * 3600)
