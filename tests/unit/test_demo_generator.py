"""Generated histories: deterministic, inside the conventions of the delivery tables, and realistic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.demo.generator import RECENT_WEEKS, TeamRecords, plan_team
from bot.demo.org import PERSONAS, demo_specs, org_teams, team_spec, teams_yml
from bot.metrics import compute
from bot.metrics.compute import ChangeFact
from bot.teams.config import parse_teams_yaml

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=150)


@pytest.fixture(scope="module")
def demo_records() -> dict[str, TeamRecords]:
    return {spec.id: plan_team(spec, start=START, end=END, seed=3) for spec in demo_specs(seed=3)}


def _rows(records: TeamRecords) -> dict[str, list[dict[str, Any]]]:
    nested = {"commits": "pr_commit", "reviews": "pr_review", "review_requests": "review_request"}
    tables: dict[str, list[dict[str, Any]]] = {
        "pull_request": records.pull_requests,
        "commit": records.commits,
        "deployment": records.deployments,
        "incident": records.incidents,
        "pipeline_run": records.pipeline_runs,
    }
    for key, table in nested.items():
        tables[table] = [row for pr in records.pull_requests for row in pr[key]]
    return tables


def test_same_seed_same_history_other_seed_other_history() -> None:
    spec = team_spec(4, persona="medium", seed=9)
    first = plan_team(spec, start=START, end=END, seed=9)
    assert plan_team(spec, start=START, end=END, seed=9) == first
    assert team_spec(4, persona="medium", seed=9) == spec
    other = plan_team(spec, start=START, end=END, seed=10)
    assert other.pull_requests != first.pull_requests
    assert [t.id for t in org_teams(30, seed=2)] == [t.id for t in org_teams(30, seed=2)]
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_team(spec, start=START.replace(tzinfo=None), end=END, seed=9)


def test_timestamps_are_utc_and_inside_the_range(demo_records: dict[str, TeamRecords]) -> None:
    for records in demo_records.values():
        for table, rows in _rows(records).items():
            for row in rows:
                for key, value in row.items():
                    if isinstance(value, datetime):
                        assert value.utcoffset() == timedelta(0), (table, key, value)
                        assert START - timedelta(hours=2) <= value < END, (table, key, value)


def test_natural_keys_are_unique_and_nothing_is_orphaned(demo_records: dict[str, TeamRecords]) -> None:
    everything: dict[str, list[dict[str, Any]]] = {}
    for records in demo_records.values():
        for table, rows in _rows(records).items():
            everything.setdefault(table, []).extend(rows)
    keys = {
        "pull_request": ("repo", "number"),
        "commit": ("repo", "sha"),
        "deployment": ("uid",),
        "incident": ("uid",),
        "pipeline_run": ("uid",),
    }
    for table, columns in keys.items():
        values = [tuple(row[c] for c in columns) for row in everything[table]]
        assert len(values) == len(set(values)), table
    assert len({d["ext_id"] for d in everything["deployment"]}) == len(everything["deployment"])
    for records in demo_records.values():
        for pr in records.pull_requests:
            assert len({c["sha"] for c in pr["commits"]}) == len(pr["commits"])
            assert len({r["ext_id"] for r in pr["reviews"]}) == len(pr["reviews"])
            assert len({r["reviewer"] for r in pr["review_requests"]}) == len(pr["review_requests"])
        main = {(c["repo"], c["sha"]): c for c in records.commits}
        for pr in records.pull_requests:
            if pr["state"] == "merged":
                landed = main[(pr["repo"], pr["merge_commit_sha"])]  # every merge reached main
                assert landed["landed_at"] == pr["merged_at"] and landed["push_key"].endswith(pr["merge_commit_sha"])
        for d in records.deployments:
            commit = main[(d["repo"], d["sha"])]  # every deployment ships a commit of main
            assert commit["landed_at"] <= d["started_at"]
        ext_ids = {d["ext_id"] for d in records.deployments}
        deployed = {d["sha"] for d in records.deployments}
        for incident in records.incidents:
            assert incident["deployment_ref"] is None or incident["deployment_ref"] in ext_ids
            assert incident["root_cause_sha"] is None or incident["root_cause_sha"] in deployed


def test_rows_tell_a_consistent_story(demo_records: dict[str, TeamRecords]) -> None:
    for team_id, records in demo_records.items():
        spec = next(s for s in demo_specs(seed=3) if s.id == team_id)
        for pr in records.pull_requests:
            assert pr["repo"] in spec.repos and pr["author_login"] in spec.logins
            first = min(c["authored_at"] for c in pr["commits"])
            assert first <= pr["created_at"]
            assert pr["ready_at"] is None or pr["created_at"] <= pr["ready_at"]
            assert (pr["state"] == "merged") == (pr["merged_at"] is not None) == (pr["merge_commit_sha"] is not None)
            assert (pr["state"] == "open") == (pr["closed_at"] is None)
            if pr["merged_at"] is not None:
                assert pr["ready_at"] is not None and pr["ready_at"] <= pr["merged_at"]
                assert all(c["authored_at"] <= pr["merged_at"] for c in pr["commits"])
            for review in pr["reviews"]:
                assert review["reviewer_is_bot"] == review["reviewer_login"].endswith("[bot]")
                assert review["ext_id"].startswith("comment:") == (review["state"] == "comment")
            for request in pr["review_requests"]:
                assert request["removed_at"] is None or request["removed_at"] >= request["requested_at"]
        for d in records.deployments:
            assert d["uid"] == f"{d['source']}:{d['repo']}:{d['ext_id']}"
            assert (d["finished_at"] is None) == (d["status"] == "in_progress")
            assert d["finished_at"] is None or d["started_at"] < d["finished_at"]
        for incident in records.incidents:
            assert incident["resolved_at"] is None or incident["resolved_at"] > incident["opened_at"]
            assert (incident["service"] == spec.pagerduty_service) == (incident["source"] == "pagerduty")
            assert incident["repo"] in (*spec.repos, None)


def _changes(records: TeamRecords) -> list[ChangeFact]:
    return [
        ChangeFact(
            key=f"pr:{pr['repo']}#{pr['number']}",
            repo=pr["repo"],
            kind="pr",
            landed_at=pr["merged_at"],
            first_commit_at=None,
            sha=pr["merge_commit_sha"],
            number=pr["number"],
            title=pr["title"],
            body=pr["body"] or "",
            head_ref=pr["head_ref"],
            labels=tuple(pr["labels"]),
        )
        for pr in records.pull_requests
        if pr["merged_at"] is not None
    ]


def test_histories_hold_every_situation_the_metrics_handle(demo_records: dict[str, TeamRecords]) -> None:
    seen: Counter[str] = Counter()
    for records in demo_records.values():
        merge_shas = {pr["merge_commit_sha"] for pr in records.pull_requests}
        pr_shas = {c["sha"] for pr in records.pull_requests for c in pr["commits"]}
        for c in records.commits:
            if c["message"].startswith("Merge pull request #"):
                seen["merge commit"] += 1
            elif c["sha"] in merge_shas and c["message"].endswith(")"):
                seen["squash"] += 1
            elif c["sha"] not in merge_shas and c["sha"] not in pr_shas and c["push_key"] != f"{c['repo']}:{c['sha']}":
                seen["rebased commit"] += 1
            elif c["push_key"] == f"{c['repo']}:{c['sha']}" and c["sha"] not in merge_shas:
                seen["direct push"] += 1
        for pr in records.pull_requests:
            seen[f"state {pr['state']}"] += 1
            seen["draft opened"] += pr["created_at"] < (pr["ready_at"] or END)
            humans = [
                r for r in pr["reviews"] if not r["reviewer_is_bot"] and r["reviewer_login"] != pr["author_login"]
            ]
            seen["bot review"] += any(r["reviewer_is_bot"] for r in pr["reviews"])
            seen["merged unreviewed"] += pr["state"] == "merged" and not humans
            seen["changes requested"] += any(r["state"] == "changes_requested" for r in pr["reviews"])
            seen["team review request"] += any(r["reviewer"].startswith("team:") for r in pr["review_requests"])
            seen["pending request on open PR"] += pr["state"] == "open" and any(
                r["removed_at"] is None for r in pr["review_requests"]
            )
            seen["several commits"] += len(pr["commits"]) >= 3
        changes = _changes(records)
        for change in changes:
            seen["revert"] += bool(compute.reverted_targets(change, changes))
            seen["hotfix"] += bool(compute.hotfix_targets(change, changes))
        for d in records.deployments:
            seen[f"{d['environment']} {d['status']}"] += 1
            seen["marked rollback"] += d["is_rollback"]
            seen["multi-region run"] += d["run_key"] is not None
            seen[f"source {d['source']}"] += 1
        prod = [d for d in records.deployments if d["environment"] == "production" and d["status"] == "success"]
        by_repo: dict[str, list[str]] = {}
        for d in sorted(prod, key=lambda d: d["finished_at"]):
            shas = by_repo.setdefault(d["repo"], [])
            seen["redeploy or rollback to an earlier SHA"] += d["sha"] in shas[:-1] or (
                bool(shas) and d["sha"] == shas[-1]
            )
            shas.append(d["sha"])
        for incident in records.incidents:
            seen[f"incident {incident['source']}"] += 1
            seen["incident open"] += incident["resolved_at"] is None
            seen["incident names a deployment"] += incident["deployment_ref"] is not None
            seen["incident names a root cause"] += "Root cause:" in incident["text"]
            seen["incident gives a root-cause SHA"] += incident["root_cause_sha"] is not None
            seen["incident names a PR"] += "Regression from #" in incident["text"]
        runs: dict[tuple[str, str | None], list[str]] = {}
        for run in records.pipeline_runs:
            runs.setdefault((run["run_id"], run["head_sha"]), []).append(run["conclusion"])
        seen["flaky run"] += sum(1 for attempts in runs.values() if attempts == ["failure", "success"])
    missing = [
        situation
        for situation in (
            "merge commit",
            "squash",
            "rebased commit",
            "direct push",
            "state open",
            "state closed",
            "state merged",
            "draft opened",
            "bot review",
            "merged unreviewed",
            "changes requested",
            "team review request",
            "pending request on open PR",
            "several commits",
            "revert",
            "hotfix",
            "production success",
            "production failure",
            "staging success",
            "marked rollback",
            "multi-region run",
            "source github",
            "source api",
            "redeploy or rollback to an earlier SHA",
            "incident github",
            "incident pagerduty",
            "incident api",
            "incident open",
            "incident names a deployment",
            "incident names a root cause",
            "incident gives a root-cause SHA",
            "incident names a PR",
            "flaky run",
        )
        if not seen[situation]
    ]
    assert not missing, f"never generated: {missing}"


def _flaky_share(records: TeamRecords, since: datetime, until: datetime) -> float:
    attempts: dict[str, list[str]] = {}
    for run in records.pipeline_runs:
        if since <= run["started_at"] < until:
            attempts.setdefault(run["run_id"], []).append(run["conclusion"])
    return sum(a == ["failure", "success"] for a in attempts.values()) / max(1, len(attempts))


def _pickup_hours(records: TeamRecords, since: datetime, until: datetime) -> float:
    waits = sorted(
        (min(r["submitted_at"] for r in humans) - pr["ready_at"]).total_seconds() / 3600
        for pr in records.pull_requests
        if pr["ready_at"] is not None
        and since <= pr["ready_at"] < until
        and (
            humans := [
                r for r in pr["reviews"] if not r["reviewer_is_bot"] and r["reviewer_login"] != pr["author_login"]
            ]
        )
    )
    return waits[len(waits) // 2]


def test_personas_differ_and_one_pipeline_degrades(demo_records: dict[str, TeamRecords]) -> None:
    recent = END - timedelta(weeks=RECENT_WEEKS)
    search = demo_records["search"]  # the degrading persona: flaky CI and slower reviews of late
    assert _flaky_share(search, recent, END) > 3 * _flaky_share(search, START, recent)
    assert _pickup_hours(search, recent, END) > 1.5 * _pickup_hours(search, START, recent)

    def merge_hours(records: TeamRecords) -> float:
        spans = sorted(
            (pr["merged_at"] - pr["created_at"]).total_seconds() / 3600
            for pr in records.pull_requests
            if pr["merged_at"] is not None
        )
        return spans[len(spans) // 2]

    def prod_deploys(records: TeamRecords) -> int:
        return sum(d["environment"] == "production" and d["status"] == "success" for d in records.deployments)

    elite, struggling = demo_records["payments"], demo_records["mobile"]
    assert merge_hours(elite) * 5 < merge_hours(struggling)
    assert prod_deploys(elite) > 10 * prod_deploys(struggling)


def test_teams_yml_configures_every_generated_team() -> None:
    specs = org_teams(45, seed=4)
    config = parse_teams_yaml(teams_yml(specs))
    assert list(config.teams) == [s.id for s in specs] and len(set(config.teams)) == 45
    assert {s.persona.key for s in specs} == set(PERSONAS)
    team = config.teams[specs[7].id]
    assert team.repos == list(specs[7].repos) and team.timezone == specs[7].timezone
    assert team.incidents.pagerduty_services == [specs[7].pagerduty_service]
    people = {p.slack: p.github for p in config.people}
    assert all(people[slack] == login for slack, login in specs[7].members)
    assert len({t.channel for t in config.teams.values()}) == 45
