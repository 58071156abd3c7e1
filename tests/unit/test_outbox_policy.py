"""The outbox delivery policy without any server: backoff, Retry-After, error classes, failure plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.outbox.compute import (
    DeliveryPolicy,
    Failure,
    backoff_seconds,
    classify_api_error,
    parse_retry_after,
    plan_failure,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(backoff_base=5, backoff_cap=60, max_attempts=5, default_retry_after=30)


def test_backoff_doubles_up_to_the_cap_and_jitters_within_half() -> None:
    top = [backoff_seconds(n, POLICY, rng=lambda: 1.0) for n in range(1, 7)]
    assert top == [5, 10, 20, 40, 60, 60]
    assert backoff_seconds(3, POLICY, rng=lambda: 0.0) == 10  # half of 20
    assert backoff_seconds(10_000, POLICY, rng=lambda: 1.0) == 60  # no overflow on huge counts


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("0.5", 0.5), (" 12 ", 12.0), (None, 30.0), ("", 30.0), ("soon", 30.0), ("-4", 0.0), ("nan", 30.0)],
)
def test_retry_after_seconds(header: str | None, expected: float) -> None:
    assert parse_retry_after(header, default=30.0) == expected


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after("Mon, 23 Nov 2026 09:00:20 GMT", default=30.0, now=NOW) == 20.0
    assert parse_retry_after("Mon, 23 Nov 2026 09:00:20 GMT", default=30.0) == 30.0  # no clock to compare with


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, "ratelimited", "rate_limited"),
        (200, "ratelimited", "rate_limited"),
        (503, "fatal_error", "transient"),
        (500, None, "transient"),
        (200, "channel_not_found", "permanent"),
        (200, "not_in_channel", "permanent"),
        (200, "user_not_found", "permanent"),
        (200, "account_inactive", "permanent"),
        (200, "invalid_blocks", "permanent"),
        (200, "invalid_auth", "transient"),  # an operator can fix the token: keep the messages
        (200, "internal_error", "transient"),
    ],
)
def test_classify_api_errors(status: int, error: str | None, kind: str) -> None:
    assert classify_api_error(status=status, error=error, retry_after="7", policy=POLICY).kind == kind


def test_a_429_waits_retry_after() -> None:
    failure = classify_api_error(status=429, error="ratelimited", retry_after="7", policy=POLICY)
    assert failure.retry_after == 7.0
    plan = plan_failure(failure, method="chat.postMessage", attempts=4, already_uncertain=False, policy=POLICY, now=NOW)
    assert (plan.status, plan.count_attempt, plan.not_before) == ("pending", False, NOW + timedelta(seconds=7))


def test_transient_failures_back_off_then_die_at_max_attempts() -> None:
    failure = Failure("transient", "HTTP 503: fatal_error")
    plan = plan_failure(
        failure, method="chat.postMessage", attempts=0, already_uncertain=False, policy=POLICY, now=NOW, rng=lambda: 1.0
    )
    assert (plan.status, plan.count_attempt, plan.not_before) == ("pending", True, NOW + timedelta(seconds=5))
    last = plan_failure(failure, method="chat.postMessage", attempts=4, already_uncertain=False, policy=POLICY, now=NOW)
    assert last.status == "dead" and last.error == "gave up after 5 attempts: HTTP 503: fatal_error"


def test_permanent_errors_die_at_once() -> None:
    plan = plan_failure(
        Failure("permanent", "channel_not_found"),
        method="chat.postMessage",
        attempts=0,
        already_uncertain=False,
        policy=POLICY,
        now=NOW,
    )
    assert (plan.status, plan.error) == ("dead", "channel_not_found")


def test_an_unknown_outcome_is_retried_once_for_posts_and_as_usual_for_updates() -> None:
    timeout = Failure("uncertain", "read timed out")
    first = plan_failure(timeout, method="dm", attempts=0, already_uncertain=False, policy=POLICY, now=NOW)
    assert first.status == "pending" and first.mark_uncertain and first.error.startswith("outcome unknown, retrying")
    second = plan_failure(timeout, method="dm", attempts=1, already_uncertain=True, policy=POLICY, now=NOW)
    assert second.status == "dead" and second.error.startswith("outcome unknown twice")
    update = plan_failure(timeout, method="chat.update", attempts=1, already_uncertain=True, policy=POLICY, now=NOW)
    assert update.status == "pending" and not update.mark_uncertain


def test_waiting_for_a_reference_spends_no_attempt() -> None:
    plan = plan_failure(
        Failure("waiting", "waiting for 'x'"),
        method="chat.update",
        attempts=3,
        already_uncertain=False,
        policy=POLICY,
        now=NOW,
    )
    assert (plan.status, plan.count_attempt) == ("pending", False)
    assert plan.not_before == NOW + timedelta(seconds=POLICY.reference_wait)
