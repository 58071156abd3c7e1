"""One test per rule of DESIGN.md §3, on hand-built histories (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.metrics import compute
from bot.metrics.compute import ChangeFact, DeploymentFact, IncidentFact, RepoHistory
from bot.metrics.periods import Window
from bot.metrics.profiles import DORA_2023, FOURKEYS

H = timedelta(hours=1)
D = timedelta(days=1)
T0 = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW = Window(T0, T0 + 30 * D, "UTC")
W24 = 24 * H
REPO = "acme/api"


def dep(n: int, at: datetime, sha: str, *, repo: str = REPO, rollback: bool = False, started: datetime | None = None):
    return DeploymentFact(
        uid=f"api:{repo}:d{n}",
        ext_id=f"deploy-{n:04d}",
        repo=repo,
        sha=sha,
        finished_at=at,
        started_at=started,
        is_rollback=rollback,
    )


def pr(
    number: int,
    merged: datetime,
    sha: str,
    *,
    first_commit: datetime | None = None,
    title: str = "Change",
    ready: datetime | None = None,
    review: datetime | None = None,
    head_ref: str | None = None,
    labels: tuple[str, ...] = (),
    body: str = "",
    repo: str = REPO,
):
    return ChangeFact(
        key=f"pr:{repo}#{number}",
        repo=repo,
        kind="pr",
        landed_at=merged,
        first_commit_at=first_commit or merged - 2 * H,
        sha=sha,
        number=number,
        title=title,
        body=body,
        head_ref=head_ref,
        labels=labels,
        ready_at=ready,
        first_review_at=review,
        commit_shas=frozenset({sha}),
    )


def incident(uid: str, opened: datetime, resolved: datetime | None = None, **kw):
    return IncidentFact(uid=uid, opened_at=opened, resolved_at=resolved, **kw)


def history(**positions: datetime) -> dict[str, RepoHistory]:
    return {REPO: RepoHistory(repo=REPO, sha_positions=dict(positions))}


def run(deployments, changes=(), incidents=(), histories=None, window=WINDOW, profile=DORA_2023, has_history=True):
    analysis = compute.analyse(
        deployments, changes, incidents, histories or history(), attribution_window=W24, repos=[REPO]
    )
    return analysis, compute.figures(analysis, window, profile, as_of=window.end, has_history=has_history)


# --- change sets and lead time ----------------------------------------------------------------------


def test_first_deployment_is_a_baseline_and_batched_deploys_ship_every_change() -> None:
    base = dep(1, T0 + 1 * D, "s0")
    p1 = pr(1, T0 + 2 * D, "m1", first_commit=T0 + 2 * D - 5 * H)
    p2 = pr(2, T0 + 2 * D + 2 * H, "m2", first_commit=T0 + 2 * D - 1 * H)
    d2 = dep(2, T0 + 2 * D + 4 * H, "m2")
    early = pr(0, T0 + 12 * H, "m0")  # shipped by the baseline: not measured
    analysis, fig = run(
        [base, d2], [early, p1, p2], histories=history(s0=T0 + 13 * H, m1=p1.landed_at, m2=p2.landed_at)
    )
    assert analysis.change_sets.baselines == {base.uid}
    assert [c.number for c in analysis.change_sets.by_deployment[d2.uid]] == [1, 2]
    # Lead times: #1 from its first commit (5 h before its merge) to the deploy 4 h after: 9 h; #2 5 h.
    assert fig.lead_time.changes == 2
    assert fig.lead_time.median_s == pytest.approx(7 * 3600)
    assert fig.frequency.deployments == 2


def test_squash_merge_counts_from_the_earliest_authored_commit() -> None:
    base = dep(1, T0 + 1 * D, "s0")
    squash = pr(7, T0 + 5 * D, "squash7", first_commit=T0 + 2 * D)  # branch commits authored 3 days earlier
    d2 = dep(2, T0 + 5 * D + 1 * H, "squash7")
    _, fig = run([base, d2], [squash], histories=history(s0=T0, squash7=squash.landed_at))
    assert fig.lead_time.median_s == pytest.approx((3 * D + 1 * H).total_seconds())
    assert fig.lead_time.stages["deploy_s"] == pytest.approx(3600)


def test_rebase_merge_deployed_at_a_middle_commit_waits_for_the_last_one() -> None:
    # Rebased commits r1, r2 land together with the PR; r2 is the PR's merge sha.
    base = dep(1, T0 + 1 * D, "s0")
    change = ChangeFact(
        key=f"pr:{REPO}#9",
        repo=REPO,
        kind="pr",
        landed_at=T0 + 3 * D,
        first_commit_at=T0 + 2 * D,
        sha="r2",
        number=9,
        commit_shas=frozenset({"r1", "r2"}),
    )
    d_mid = dep(2, T0 + 3 * D + 1 * H, "r1")
    d_last = dep(3, T0 + 4 * D, "r2")
    positions = history(s0=T0, r1=T0 + 3 * D - timedelta(seconds=1), r2=T0 + 3 * D)
    analysis, _ = run([base, d_mid, d_last], [change], histories=positions)
    assert analysis.change_sets.first_deployment[change.key].uid == d_last.uid


def test_redeploy_of_the_same_sha_ships_nothing_and_is_not_a_failure() -> None:
    base = dep(1, T0 + 1 * D, "s0")
    p1 = pr(1, T0 + 2 * D, "m1")
    d2 = dep(2, T0 + 2 * D + 1 * H, "m1")
    d3 = dep(3, T0 + 2 * D + 3 * H, "m1")  # same SHA again
    analysis, fig = run([base, d2, d3], [p1], histories=history(s0=T0, m1=p1.landed_at))
    assert analysis.change_sets.by_deployment[d3.uid] == []
    assert analysis.change_sets.first_deployment[p1.key].uid == d2.uid
    assert fig.frequency.deployments == 3 and fig.change_failure_rate.failed == 0
    assert fig.lead_time.changes == 1


def test_changes_not_yet_deployed_have_no_lead_time() -> None:
    base = dep(1, T0 + 1 * D, "s0")
    p1 = pr(1, T0 + 2 * D, "m1")
    _, fig = run([base], [p1], histories=history(s0=T0))
    assert fig.lead_time.changes == 0 and fig.lead_time.median_s is None and fig.lead_time.tier is None


def test_negative_lead_times_are_dropped_and_counted() -> None:
    base = dep(1, T0 + 1 * D, "s0")
    good = pr(1, T0 + 2 * D, "m1", first_commit=T0 + 2 * D - 2 * H)
    skewed = pr(2, T0 + 2 * D + 1 * H, "m2", first_commit=T0 + 9 * D)  # author clock in the future
    d2 = dep(2, T0 + 2 * D + 2 * H, "m2")
    _, fig = run([base, d2], [good, skewed], histories=history(s0=T0, m1=good.landed_at, m2=skewed.landed_at))
    assert fig.lead_time.changes == 1 and fig.lead_time.excluded_negative == 1
    assert fig.lead_time.median_s == pytest.approx(4 * 3600)


def test_stage_breakdown_medians() -> None:
    base = dep(1, T0, "s0")
    merged = T0 + 3 * D
    change = pr(1, merged, "m1", first_commit=merged - 10 * H, ready=merged - 6 * H, review=merged - 1 * H)
    d2 = dep(2, merged + 2 * H, "m1")
    _, fig = run([base, d2], [change], histories=history(s0=T0 - H, m1=merged))
    assert fig.lead_time.stages == {
        "coding_s": 4 * 3600.0,
        "pickup_s": 5 * 3600.0,
        "review_s": 3600.0,
        "deploy_s": 2 * 3600.0,
    }
    assert fig.lead_time.slowest_stage == "pickup"


def test_pr_without_review_has_no_pickup_and_reviews_from_ready() -> None:
    merged = T0 + 3 * D
    lead = compute.change_lead(
        pr(1, merged, "m1", first_commit=merged - 5 * H, ready=merged - 3 * H), dep(2, merged + H, "m1")
    )
    assert lead.stages["pickup_s"] is None and lead.stages["review_s"] == 3 * 3600


def test_median_interpolates_and_p90_is_linear() -> None:
    assert compute.median_or_none([1, 2, 3, 4]) == 2.5
    assert compute.percentile([10, 20, 30, 40, 50], 0.9) == pytest.approx(46.0)
    assert compute.percentile([5], 0.9) == 5 and compute.percentile([], 0.9) is None


# --- failure rules -------------------------------------------------------------------------------------


def _two_deploys():
    base = dep(1, T0 + 1 * D, "s0")
    p1 = pr(1, T0 + 4 * D, "m1", title="Add retries to payment webhook")
    d2 = dep(2, T0 + 4 * D + 1 * H, "m1")
    return base, p1, d2, history(s0=T0 + 1 * D - H, m1=p1.landed_at)


def test_rule_a_explicit_link_counts_at_any_time_and_recovers_on_resolution() -> None:
    base, p1, d2, hist = _two_deploys()
    late = incident("api:INC-1", d2.finished_at + 5 * D, d2.finished_at + 5 * D + 2 * H, deployment_ref=d2.ext_id)
    analysis, fig = run([base, d2], [p1], [late], histories=hist)
    failure = analysis.failures[d2.uid]
    assert "explicit link" in failure.reasons[0]
    assert fig.change_failure_rate.failed == 1 and fig.change_failure_rate.rate == pytest.approx(0.5)
    assert fig.recovery_time.median_s == pytest.approx((5 * D + 2 * H).total_seconds())


@pytest.mark.parametrize(
    "link",
    [
        {"root_cause_sha": "c0ffee1"},
        {"text": "Checkout broke after deployment deploy-0002 went out"},
        {"text": "Root cause: c0ffee12"},
        {"text": f"Regression from {REPO}#1"},
        {"text": "Errors since c0ffee1234 reached production"},
    ],
)
def test_rule_a_links_by_sha_id_pr_or_root_cause_marker(link: dict) -> None:
    base = dep(1, T0 + 1 * D, "0000aaa")
    p1 = pr(1, T0 + 4 * D, "c0ffee12345678", title="Add retries")
    d2 = dep(2, T0 + 4 * D + 1 * H, "c0ffee12345678")
    far = incident("pagerduty:PX", d2.finished_at + 10 * D, **link)  # long after the attribution window
    analysis, _ = run([base, d2], [p1], [far], histories=history(**{"0000aaa": T0, "c0ffee12345678": p1.landed_at}))
    assert set(analysis.failures) == {d2.uid}
    assert "explicit link" in analysis.failures[d2.uid].reasons[0]


def test_a_bare_number_in_a_service_incident_is_not_a_link() -> None:
    base, p1, d2, hist = _two_deploys()
    paged = incident("pagerduty:PY", d2.finished_at + 3 * D, title="[#1] Disk full on db-3", service="PABC123")
    analysis, _ = run([base, d2], [p1], [paged], histories=hist)
    assert analysis.failures == {}


def test_rule_b_unlinked_incident_goes_to_the_latest_deployment_within_the_window() -> None:
    base, p1, d2, hist = _two_deploys()
    inc = incident(f"github:{REPO}#900", d2.finished_at + 1 * H, d2.finished_at + 4 * H, repo=REPO, title="Errors")
    analysis, fig = run([base, d2], [p1], [inc], histories=hist)
    assert set(analysis.failures) == {d2.uid}
    assert "incident #900 started 1 h later (time attribution, window 24 h)" in analysis.failures[d2.uid].reasons
    # Recovery runs from the deployment's finish to the incident's resolution: 4 h.
    assert fig.recovery_time.median_s == pytest.approx(4 * 3600) and fig.recovery_time.tier == "high"


def test_rule_b_incident_outside_the_attribution_window_fails_nothing() -> None:
    base, p1, d2, hist = _two_deploys()
    inc = incident(f"github:{REPO}#901", d2.finished_at + 25 * H, d2.finished_at + 26 * H, repo=REPO)
    analysis, fig = run([base, d2], [p1], [inc], histories=hist)
    assert analysis.failures == {} and fig.change_failure_rate.rate == 0
    # ...but it still counts for time to restore service.
    assert fig.time_to_restore.resolved == 1 and fig.time_to_restore.median_s == 3600


def test_rule_b_service_incident_without_repo_goes_to_the_latest_team_deployment() -> None:
    base, p1, d2, hist = _two_deploys()
    other = dep(9, d2.finished_at + 2 * H, "w1", repo="acme/web")
    inc = incident("pagerduty:Q1", d2.finished_at + 3 * H, service="PABC123")
    analysis, _ = run([base, d2, other], [p1], [inc], histories=hist)
    assert set(analysis.failures) == {other.uid}


def test_rule_c_next_deployment_back_to_an_older_sha_is_a_rollback() -> None:
    base, p1, d2, hist = _two_deploys()
    back = dep(3, d2.finished_at + 2 * H, "s0")
    analysis, fig = run([base, d2, back], [p1], histories=hist)
    assert set(analysis.failures) == {d2.uid}
    assert analysis.failures[d2.uid].recovered_by == "rollback deployed"
    assert fig.recovery_time.median_s == 2 * 3600
    assert fig.change_failure_rate.deployments == 3  # the rollback is a deployment too


def test_rule_c_marked_rollback_and_window_limit() -> None:
    base, p1, d2, hist = _two_deploys()
    marked = dep(3, d2.finished_at + 30 * H, "m1", rollback=True)  # outside 24 h: not a failure
    analysis, _ = run([base, d2, marked], [p1], histories=hist)
    assert analysis.failures == {}
    marked = dep(3, d2.finished_at + 3 * H, "zz9", rollback=True)
    analysis, _ = run([base, d2, marked], [p1], histories=hist)
    assert set(analysis.failures) == {d2.uid}
    assert analysis.change_sets.by_deployment[marked.uid] == []


@pytest.mark.parametrize(
    "fix",
    [
        {"title": 'Revert "Add retries to payment webhook"'},
        {"title": "Undo it", "head_ref": "revert-1-retries"},
        {"title": "Hotfix: payment webhook loops", "body": "Fixes the regression from #1"},
        {"title": "Stop the loop", "labels": ("hotfix",), "body": "Follow-up to m1 (#1)"},
    ],
)
def test_rule_d_revert_or_hotfix_deployed_within_the_window(fix: dict) -> None:
    base, p1, d2, hist = _two_deploys()
    fix_pr = pr(2, d2.finished_at + 2 * H, "m2", **fix)
    d3 = dep(3, d2.finished_at + 3 * H, "m2")
    hist[REPO].sha_positions["m2"] = fix_pr.landed_at
    analysis, fig = run([base, d2, d3], [p1, fix_pr], histories=hist)
    assert set(analysis.failures) == {d2.uid}
    assert fig.recovery_time.median_s == 3 * 3600
    assert fig.rework_rate.reworked == 1  # d3 shipped the revert or hotfix


def test_rule_d_revert_deployed_after_the_window_is_not_a_failure() -> None:
    base, p1, d2, hist = _two_deploys()
    revert = pr(2, d2.finished_at + 20 * H, "m2", title='Revert "Add retries to payment webhook"')
    d3 = dep(3, d2.finished_at + 30 * H, "m2")
    hist[REPO].sha_positions["m2"] = revert.landed_at
    analysis, _ = run([base, d2, d3], [p1, revert], histories=hist)
    assert analysis.failures == {}


def test_distinct_failures_count_once_and_earliest_recovery_wins() -> None:
    base, p1, d2, hist = _two_deploys()
    inc1 = incident(f"github:{REPO}#1001", d2.finished_at + 1 * H, d2.finished_at + 9 * H, repo=REPO)
    inc2 = incident("api:INC-7", d2.finished_at + 2 * D, d2.finished_at + 2 * D + H, deployment_ref=d2.ext_id)
    back = dep(3, d2.finished_at + 5 * H, "s0")
    analysis, fig = run([base, d2, back], [p1], [inc1, inc2], histories=hist)
    assert fig.change_failure_rate.failed == 1
    assert analysis.failures[d2.uid].recovered_at == back.finished_at


def test_open_incident_is_open_never_zero() -> None:
    base, p1, d2, hist = _two_deploys()
    inc = incident(f"github:{REPO}#77", d2.finished_at + 1 * H, None, repo=REPO)
    _, fig = run([base, d2], [p1], [inc], histories=hist)
    assert fig.recovery_time.recovered == 0 and fig.recovery_time.open == 1 and fig.recovery_time.median_s is None
    assert fig.recovery_time.oldest_open_s == pytest.approx((WINDOW.end - d2.finished_at).total_seconds())
    assert fig.time_to_restore.open == 1 and fig.time_to_restore.median_s is None


# --- frequency, tiers, no data ---------------------------------------------------------------------------


def test_empty_window_is_no_data_not_zero_and_not_the_best_tier() -> None:
    _, fig = run([], has_history=False)
    f = fig.frequency
    assert (f.deployments, f.per_day, f.per_week, f.tier) == (0, None, None, None)
    assert fig.change_failure_rate.rate is None and fig.change_failure_rate.tier is None
    assert fig.lead_time.median_s is None and fig.recovery_time.median_s is None
    assert fig.rework_rate.rate is None


def test_a_quiet_window_after_real_history_is_zero_and_low() -> None:
    _, fig = run([], has_history=True)
    assert fig.frequency.per_week == 0 and fig.frequency.tier == "low"


def test_frequency_counts_every_calendar_day() -> None:
    deploys = [dep(i, T0 + i * D + 10 * H, f"s{i}") for i in range(6)]
    _, fig = run(deploys)
    assert fig.frequency.deployments == 6
    assert fig.frequency.per_day == pytest.approx(6 / 30) and fig.frequency.per_week == pytest.approx(6 / 30 * 7)


@pytest.mark.parametrize(
    ("days", "expected", "profile"),
    [
        ([0, 1, 2, 3, 4], "elite", DORA_2023),  # every weekday
        ([0, 2, 4], "high", DORA_2023),  # three days a week
        ([0, 2, 4], "elite", FOURKEYS),  # Four Keys calls 3 days a week "daily"
        ([1], "high", DORA_2023),
    ],
)
def test_frequency_tier_from_deployment_days(days: list[int], expected: str, profile) -> None:
    window = Window(datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC), "UTC")  # 4 ISO weeks
    deploys = []
    for week in range(4):
        for day in days:
            at = window.start + timedelta(days=7 * week + day, hours=11)
            deploys.append(dep(len(deploys), at, f"s{len(deploys)}"))
            deploys.append(dep(len(deploys), at + H, f"s{len(deploys)}"))  # two a day: still one deploy day
    _, fig = run(deploys, window=window, profile=profile)
    assert fig.frequency.tier == expected


def test_frequency_tier_medium_and_low_by_month() -> None:
    window = Window(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC), "UTC")
    monthly = [dep(i, datetime(2026, 7 + i, 15, 12, tzinfo=UTC), f"s{i}") for i in range(3)]
    _, fig = run(monthly, window=window)
    assert fig.frequency.tier == "medium"
    _, fig = run(monthly[:1], window=window)
    assert fig.frequency.tier == "low"


@pytest.mark.parametrize(
    ("seconds", "tier"),
    [(24 * 3600 - 1, "elite"), (24 * 3600, "high"), (7 * 86400, "medium"), (30 * 86400, "low")],
)
def test_lead_time_bands_compare_with_less_than(seconds: float, tier: str) -> None:
    assert DORA_2023.lead_time_tier(seconds) == tier


@pytest.mark.parametrize(
    ("rate", "tier"), [(0.05, "elite"), (0.0501, "high"), (0.10, "high"), (0.15, "medium"), (0.16, "low")]
)
def test_failure_rate_bands_compare_with_at_most(rate: float, tier: str) -> None:
    assert DORA_2023.rate_tier(rate) == tier


def test_recovery_bands() -> None:
    assert [DORA_2023.recovery_tier(s) for s in (3599, 3600, 86400, 7 * 86400)] == ["elite", "high", "medium", "low"]
    assert DORA_2023.recovery_tier(None) is None


# --- time zones ---------------------------------------------------------------------------------------------


def test_offsets_are_the_same_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    base = dep(1, datetime(2026, 10, 2, 12, tzinfo=plus_two), "s0")  # 10:00 UTC
    p1 = pr(1, datetime(2026, 10, 5, 20, tzinfo=plus_two), "m1", first_commit=datetime(2026, 10, 5, 16, tzinfo=UTC))
    d2 = dep(2, datetime(2026, 10, 5, 21, tzinfo=UTC), "m1")
    _, fig = run([base, d2], [p1], histories=history(s0=T0, m1=p1.landed_at))
    assert fig.lead_time.median_s == 5 * 3600


def test_weeks_are_bucketed_in_the_team_time_zone_across_dst() -> None:
    # Europe/Berlin leaves summer time on Sunday 2026-10-25 at 03:00 local.
    window = Window(datetime(2026, 10, 18, 22, tzinfo=UTC), datetime(2026, 11, 1, 23, tzinfo=UTC), "Europe/Berlin")
    sunday_late = dep(1, datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "a")  # Sun 23:30 CET: week 43
    monday_early = dep(2, datetime(2026, 10, 25, 23, 30, tzinfo=UTC), "b")  # Mon 00:30 CET: week 44
    analysis, fig = run([sunday_late, monday_early], window=window)
    weeks = {p.week: p.deployments for p in compute.weekly_series(analysis, window)}
    assert weeks == {"2026-W43": 1, "2026-W44": 1}
    assert fig.frequency.deploy_days == 2  # two local dates, though both are Oct 25 in UTC


# --- invariants ----------------------------------------------------------------------------------------------


def test_revert_targets_by_reverted_commit_message() -> None:
    original = pr(1, T0, "abc1234def", title="Add cache")
    push = ChangeFact(
        key=f"push:{REPO}@f00",
        repo=REPO,
        kind="push",
        landed_at=T0 + H,
        first_commit_at=T0 + H,
        sha="f00",
        title='Revert "Add cache"',
        body="This reverts commit abc1234def.",
        commit_shas=frozenset({"f00"}),
    )
    assert compute.reverted_targets(push, [original, push]) == [original]
    assert compute.hotfix_targets(push, [original, push]) == []
