"""Pure parsers: timestamp formats providers send, field-naming shape errors, and the lifecycle
transitions fixtures do not show (built from a fixture, as the manifest asks)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.ingest.normalize import decode_json, parse_delivery
from bot.ingest.normalize.facts import IncidentFact, PullRequestFact, ReviewFact, ReviewRequestFact
from bot.ingest.payload import Doc, ShapeError, parse_timestamp
from tests.conftest import FIXTURES

NOW = datetime(2026, 10, 5, tzinfo=UTC)


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_bytes())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-12-03T17:23:34Z", datetime(2013, 12, 3, 17, 23, 34, tzinfo=UTC)),
        ("2016-08-12 15:23:28 UTC", datetime(2016, 8, 12, 15, 23, 28, tzinfo=UTC)),
        ("2021-04-28 21:50:00 +0200", datetime(2021, 4, 28, 19, 50, tzinfo=UTC)),
        ("2021-02-23T02:41:37.886Z", datetime(2021, 2, 23, 2, 41, 37, 886000, tzinfo=UTC)),
        ("2026-10-05T17:40:00-04:00", datetime(2026, 10, 5, 21, 40, tzinfo=UTC)),
    ],
)
def test_timestamps_from_every_provider(text: str, expected: datetime) -> None:
    assert parse_timestamp(text, "t") == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-10-05T17:40:00", "has no UTC offset"),
        ("soon", "not an ISO 8601 timestamp"),
        (12, "expected a timestamp, got a number"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
    ],
)
def test_bad_timestamps_name_the_field(value: Any, problem: str) -> None:
    with pytest.raises(ShapeError, match=problem) as exc:
        Doc({"when": {"at": value}}).child("when").time("at")
    assert exc.value.path == "when.at"


def test_epoch_seconds_only_where_allowed() -> None:
    assert Doc({"t": 1510086250}).time("t", epoch=True) == datetime(2017, 11, 7, 20, 24, 10, tzinfo=UTC)
    with pytest.raises(ShapeError, match="not a valid epoch time"):
        Doc({"t": 10**30}).time("t", epoch=True)


def test_numbers_must_fit_and_booleans_are_not_numbers() -> None:
    with pytest.raises(ShapeError, match="out of range"):
        Doc({"n": 2**40}).integer("n")
    with pytest.raises(ShapeError, match="expected an integer, got a boolean"):
        Doc({"n": True}).integer("n")
    with pytest.raises(ShapeError, match=r"items\[1\]: expected a string, got a number"):
        Doc({"items": ["a", 1]}).texts("items")


@pytest.mark.parametrize("body", [b"", b"{", b"\xff", b"1" * 5000, b"[" * 100_000])
def test_bodies_that_are_not_json(body: bytes) -> None:
    with pytest.raises(ShapeError) as exc:
        decode_json(body)
    assert exc.value.path == "(body)"


def gitlab(payload: Any) -> list[Any]:
    return parse_delivery(source="gitlab", event="", payload=payload, received_at=NOW)


def test_gitlab_merge_request_merged_and_approved() -> None:
    mr = fixture("gitlab-webhooks/go-playground-webhooks/merge-request-event.json")
    mr["object_attributes"] |= {"action": "merge", "state": "merged", "merge_commit_sha": "f" * 40}
    [snapshot] = gitlab(mr)
    assert isinstance(snapshot, PullRequestFact)
    assert (snapshot.fields["state"], snapshot.fields["merge_commit_sha"]) == ("merged", "f" * 40)
    assert snapshot.fields["merged_at"] == datetime(2013, 12, 3, 17, 23, 34, tzinfo=UTC)
    # The fixture's changes say the MR just left draft: that is when it became ready.
    assert snapshot.fields["ready_at"] == snapshot.fields["updated_at"]

    mr["object_attributes"] |= {"action": "approved", "state": "opened"}
    facts = gitlab(mr)
    review = next(f for f in facts if isinstance(f, ReviewFact))
    assert (review.ext_id, review.fields["state"], review.fields["reviewer_login"]) == (
        "approval:root",
        "approved",
        "root",
    )
    assert any(isinstance(f, ReviewRequestFact) and f.removed and f.reviewer == "root" for f in facts)


def test_gitlab_reviewer_changes_become_requests() -> None:
    mr = fixture("gitlab-webhooks/go-gitlab/merge_request.json")
    mr["object_attributes"]["action"] = "update"
    mr["changes"]["reviewers"] = {"previous": [{"username": "ann"}], "current": [{"username": "bob"}]}
    requests = [f for f in gitlab(mr) if isinstance(f, ReviewRequestFact)]
    assert [(r.reviewer, r.removed) for r in requests] == [("bob", False), ("ann", True)]


def test_gitlab_job_repository_from_its_homepage_and_retries() -> None:
    [run] = gitlab(fixture("gitlab-webhooks/go-gitlab/job.json"))
    assert run.fields["repo"] == "gitlab:jsmithy2/release-tools-fake" and run.fields["attempt"] == 2
    assert run.fields["url"] == "https://gitlab.com/jsmithy2/release-tools-fake/-/jobs/3580121225"


def test_opsgenie_close_and_pagerduty_reopen() -> None:
    [closed] = parse_delivery(
        source="opsgenie", event="", payload=fixture("opsgenie/zulip-fixtures/close.json"), received_at=NOW
    )
    assert isinstance(closed, IncidentFact)
    assert closed.fields["resolved_at"] == datetime.fromtimestamp(1420452374.669001603, UTC)
    triggered = fixture("pagerduty/zulip-fixtures-v3/triggered_v3.json")
    triggered["event"]["event_type"] = "incident.reopened"
    [reopened] = parse_delivery(source="pagerduty", event="", payload=triggered, received_at=NOW)
    assert isinstance(reopened, IncidentFact) and reopened.reopened and reopened.fields["resolved_at"] is None
