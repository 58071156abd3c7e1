"""Invariants of the metric rules on generated histories (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.metrics import compute
from bot.metrics.compute import ChangeFact, DeploymentFact, IncidentFact, RepoHistory
from bot.metrics.periods import Window
from bot.metrics.profiles import DORA_2023

T0 = datetime(2026, 9, 1, tzinfo=UTC)
WINDOW = Window(T0 + timedelta(days=30), T0 + timedelta(days=60), "Europe/Berlin")
REPOS = ("acme/api", "acme/web")
SHAS = [f"{i:07x}abc" for i in range(40)]

minutes = st.integers(min_value=0, max_value=60 * 24 * 60)


@st.composite
def histories(draw):  # type: ignore[no-untyped-def]
    n_changes = draw(st.integers(0, 25))
    changes, positions = [], {repo: {} for repo in REPOS}
    for i in range(n_changes):
        repo = draw(st.sampled_from(REPOS))
        landed = T0 + timedelta(minutes=draw(minutes))
        sha = SHAS[i]
        title = draw(st.sampled_from(["Add feature", "Fix bug", 'Revert "Add feature"', "Hotfix #1 and #2"]))
        kind = draw(st.sampled_from(["pr", "pr", "push"]))
        first = landed - timedelta(minutes=draw(st.integers(-600, 6000)))
        changes.append(
            ChangeFact(
                key=f"{kind}:{repo}#{i}",
                repo=repo,
                kind=kind,
                landed_at=landed,
                first_commit_at=first,
                sha=sha,
                number=i if kind == "pr" else None,
                title=title,
                commit_shas=frozenset({sha}),
                first_review_at=landed - timedelta(minutes=draw(st.integers(0, 600))),
            )
        )
        positions[repo][sha] = landed
    deployments = []
    for i in range(draw(st.integers(0, 25))):
        repo = draw(st.sampled_from(REPOS))
        finished = T0 + timedelta(minutes=draw(minutes))
        sha = draw(st.sampled_from([*SHAS[: max(1, n_changes)], "unknown0"]))
        deployments.append(
            DeploymentFact(
                uid=f"d{i}",
                ext_id=f"dep-{i:05d}",
                repo=repo,
                sha=sha,
                finished_at=finished,
                is_rollback=draw(st.booleans()) and draw(st.booleans()),
            )
        )
    incidents = []
    for i in range(draw(st.integers(0, 8))):
        opened = T0 + timedelta(minutes=draw(minutes))
        resolved = draw(st.one_of(st.none(), st.integers(1, 6000)))
        incidents.append(
            IncidentFact(
                uid=f"api:INC-{i}",
                opened_at=opened,
                resolved_at=None if resolved is None else opened + timedelta(minutes=resolved),
                repo=draw(st.sampled_from([*REPOS, None])),
                service="svc",
                deployment_ref=draw(st.sampled_from([None, None, "dep-00001"])),
            )
        )
    hist = {repo: RepoHistory(repo=repo, sha_positions=positions[repo]) for repo in REPOS}
    return deployments, changes, incidents, hist


def _figures(deployments, changes, incidents, hist):  # type: ignore[no-untyped-def]
    analysis = compute.analyse(
        deployments, changes, incidents, hist, attribution_window=timedelta(hours=24), repos=REPOS
    )
    return compute.figures(analysis, WINDOW, DORA_2023, as_of=WINDOW.end, has_history=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_arrival_order(history, rnd: random.Random) -> None:  # type: ignore[no-untyped-def]
    deployments, changes, incidents, hist = history
    expected = _figures(deployments, changes, incidents, hist)
    for items in (deployments, changes, incidents):
        rnd.shuffle(items)
    assert _figures(deployments, changes, incidents, hist) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_rates_and_counts_stay_in_bounds(history) -> None:  # type: ignore[no-untyped-def]
    fig = _figures(*history)
    cfr = fig.change_failure_rate
    assert 0 <= cfr.failed <= cfr.deployments == fig.frequency.deployments
    assert cfr.rate is None or 0.0 <= cfr.rate <= 1.0
    assert fig.rework_rate.rate is None or 0.0 <= fig.rework_rate.rate <= 1.0
    assert fig.recovery_time.recovered + fig.recovery_time.open == cfr.failed
    lt = fig.lead_time
    if lt.median_s is not None:
        assert lt.median_s >= 0 and lt.p90_s is not None and lt.p90_s >= lt.median_s
    assert all(v is None or v >= 0 for v in lt.stages.values())
    assert fig.frequency.deploy_days <= fig.frequency.deployments


@settings(max_examples=80, deadline=None)
@given(histories())
def test_each_change_ships_at_most_once(history) -> None:  # type: ignore[no-untyped-def]
    deployments, changes, _, hist = history
    sets = compute.assign_changes(deployments, changes, hist)
    shipped = [c.key for found in sets.by_deployment.values() for c in found]
    assert len(shipped) == len(set(shipped))
    for key, deployment in sets.first_deployment.items():
        change = next(c for c in changes if c.key == key)
        assert change.repo == deployment.repo
