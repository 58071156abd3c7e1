"""Pure delivery policy of the outbox: pacing and backoff numbers, error classes, what a failure does.

No database and no Slack here: the sender classifies what happened into a ``Failure`` and
``plan_failure`` says what becomes of the row. Unit-tested without any server.

The policy, in short:

- **Rate limited** (HTTP 429): not a failure. The row waits ``Retry-After`` seconds and so does its
  bucket (the channel for ``chat.postMessage``, the method otherwise), in every process.
- **Transient** (5xx, a connection that never carried the request, an unknown ``ok: false`` code,
  a bad token that an operator may fix): retried with exponential backoff, ``dead`` after
  ``max_attempts`` failures, the last error kept.
- **Permanent** ``ok: false`` codes (``channel_not_found``, ``not_in_channel``, ``user_not_found``,
  ``account_inactive``, invalid blocks…): ``dead`` at once, with the error.
- **Uncertain**: the request may have reached Slack but no answer came back (a read timeout, a
  connection dropped after sending, a worker that stopped mid-send and whose lease expired). For
  methods that only overwrite (``chat.update``, ``views.publish``) this is an ordinary transient
  failure. For methods that create something (a message, an ephemeral, a DM, a file share) a retry
  may post twice, while not retrying may lose a digest. A row is marked uncertain **once** and then
  retried (a read timeout almost always means Slack did not post; a lost digest is worse than a rare
  duplicate); a second unknown outcome on the same row makes it ``dead`` ("outcome unknown twice")
  rather than risk repeating it again. The mark stays in ``result["uncertain"]``, so an operator can
  see which delivered messages may have a twin.
- **Waiting**: the payload references the result of another row that is not sent yet; the row waits
  without spending an attempt.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

# Methods the sender supports; ``dm`` opens the IM with conversations.open, then posts.
SUPPORTED_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "dm", "files.upload_v2", "views.publish"}
)
# Repeating these replaces what the first call did, so an unknown outcome is safe to retry.
OVERWRITING_METHODS = frozenset({"chat.update", "views.publish"})
# 429 on chat.postMessage is about the channel; other methods are limited per method and workspace.
CHANNEL_PACED_METHODS = frozenset({"chat.postMessage", "dm"})

PERMANENT_ERRORS = frozenset(
    {
        # the destination
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "is_inactive",
        "user_not_found",
        "users_not_found",
        "user_not_in_channel",
        "user_disabled",
        "user_not_visible",
        "account_inactive",
        "cannot_dm_bot",
        "invalid_channel",
        "method_not_supported_for_channel_type",
        "messages_tab_disabled",
        "posting_to_channel_denied",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_locked",
        "team_access_not_granted",
        "ekm_access_denied",
        "access_denied",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "not_enabled",
        # the message or view itself
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_array_arg",
        "invalid_charset",
        "invalid_form_data",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "attachment_payload_limit_exceeded",
        "view_too_large",
        "hash_conflict",
        "duplicate_external_id",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "cannot_reply_to_message",
        "missing_argument",
        "file_type_not_allowed",
        "file_uploads_disabled",
        "file_uploads_except_images_disabled",
        "file_upload_size_restricted",
        "unknown_method",
    }
)
# ok:false codes that say "not now" rather than "never".
RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited"})

FailureKind = Literal["rate_limited", "transient", "permanent", "uncertain", "waiting"]


@dataclass(frozen=True)
class DeliveryPolicy:
    """Numbers of the delivery policy; the defaults are Slack's, tests shrink the intervals."""

    channel_interval: float = 1.0  # seconds between two sends to one channel (chat.postMessage: ~1/s)
    max_attempts: int = 12  # failures before a row is dead (about two hours of backoff)
    backoff_base: float = 5.0  # first retry after ~5 s, doubling
    backoff_cap: float = 1800.0  # never wait more than 30 minutes between attempts
    default_retry_after: float = 30.0  # a 429 without a usable Retry-After header
    reference_wait: float = 2.0  # re-check a row whose referenced row is not sent yet
    lease_seconds: float = 120.0  # a claimed row returns to the queue when its worker is silent this long
    request_timeout: float = 15.0  # one HTTP call to Slack
    workers: int = 4  # parallel sends (each to a different channel)
    poll_interval: float = 0.1  # re-check for work while busy
    idle_interval: float = 1.0  # re-check for work when the outbox is empty


@dataclass(frozen=True)
class Failure:
    """What went wrong with one delivery attempt, as the sender saw it."""

    kind: FailureKind
    error: str
    retry_after: float | None = None  # rate_limited: seconds Slack asked us to wait


@dataclass(frozen=True)
class FailurePlan:
    """What becomes of a row after a failed attempt."""

    status: Literal["pending", "dead"]
    not_before: datetime
    count_attempt: bool
    mark_uncertain: bool
    error: str


def backoff_seconds(failures: int, policy: DeliveryPolicy, *, rng: Callable[[], float] = random.random) -> float:
    """Delay before the next attempt after ``failures`` failures: exponential, capped, jittered.

    The jitter keeps the retries of many rows that failed together (a Slack outage) from arriving
    together; it takes between half and all of the exponential delay.
    """
    exponent = max(failures - 1, 0)
    raw = min(policy.backoff_cap, policy.backoff_base * (2.0 ** min(exponent, 30)))
    return raw * (0.5 + 0.5 * rng())


def parse_retry_after(value: str | None, *, default: float, now: datetime | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); ``default`` if unusable."""
    if value is None or not str(value).strip():
        return default
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return default
        if now is None or when.tzinfo is None:
            return default
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return default
    return max(seconds, 0.0)


def classify_api_error(*, status: int, error: str | None, retry_after: str | None, policy: DeliveryPolicy) -> Failure:
    """Classify an answer from Slack that was not ``ok`` (HTTP status and ``error`` code)."""
    code = error or f"http_{status}"
    if status == 429 or code in RATE_LIMIT_ERRORS:
        wait = parse_retry_after(retry_after, default=policy.default_retry_after)
        return Failure("rate_limited", f"rate limited (Retry-After {wait:g} s)", retry_after=wait)
    if status >= 500:
        return Failure("transient", f"HTTP {status}: {code}")
    if code in PERMANENT_ERRORS:
        return Failure("permanent", code)
    return Failure("transient", code)


def plan_failure(
    failure: Failure,
    *,
    method: str,
    attempts: int,
    already_uncertain: bool,
    policy: DeliveryPolicy,
    now: datetime,
    rng: Callable[[], float] = random.random,
) -> FailurePlan:
    """Decide the row's next status and due time after ``failure`` (``attempts``: failures so far)."""
    if failure.kind == "rate_limited":
        wait = failure.retry_after if failure.retry_after is not None else policy.default_retry_after
        return FailurePlan("pending", now + timedelta(seconds=wait), False, False, failure.error)
    if failure.kind == "waiting":
        return FailurePlan("pending", now + timedelta(seconds=policy.reference_wait), False, False, failure.error)
    if failure.kind == "permanent":
        return FailurePlan("dead", now, True, False, failure.error)
    mark_uncertain = False
    error = failure.error
    if failure.kind == "uncertain" and method not in OVERWRITING_METHODS:
        if already_uncertain:
            reason = f"outcome unknown twice, not retried to avoid a duplicate: {failure.error}"
            return FailurePlan("dead", now, True, False, reason)
        mark_uncertain = True
        error = f"outcome unknown, retrying once: {failure.error}"
    failures = attempts + 1
    if failures >= policy.max_attempts:
        return FailurePlan("dead", now, True, mark_uncertain, f"gave up after {failures} attempts: {error}")
    delay = backoff_seconds(failures, policy, rng=rng)
    return FailurePlan("pending", now + timedelta(seconds=delay), True, mark_uncertain, error)
