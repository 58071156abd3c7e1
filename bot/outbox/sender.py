"""The outbox sender: delivers claimed rows to the Slack Web API, paced, retried, never twice on purpose.

One dispatcher thread claims due rows (``bot.outbox.service.claim_batch``: one per channel, none from a
channel sent to less than a second ago) as long as a small pool has free workers, and each worker
makes the Web API call(s) of one row. Many channels are therefore served in parallel while each
channel gets at most one ``chat.postMessage`` per ``channel_interval``. All state is in the outbox
table: several processes can run senders side by side, and a restarted one resumes where the last
stopped (a row whose worker died mid-send returns to the queue when its lease passes).

On an answer from Slack the sender first records the row as ``sent`` (with the ``ts`` / channel /
file id in ``result``), before logging or anything else. Failures follow ``bot.outbox.compute``:
429 waits ``Retry-After`` (the whole channel or method waits, in every process), 5xx and connection
errors back off, permanent ``ok: false`` codes are dead at once, and an unknown outcome of a post is
retried once only. The client has no retry handlers of its own, so nothing is ever retried blindly.

Entry points: ``start_sender(settings, engine)`` runs the loop in a daemon thread (``sei-bot worker`` /
``serve``), ``drain_outbox(settings, engine)`` delivers what is due once and returns a report (tests,
``sei-bot jobs run outbox-sweep``). This module and ``bot/handlers/`` are the only ones that import
``slack_sdk``.
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import socket
import threading
import time
import urllib.error
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.db import session_scope, utcnow
from bot.outbox import service
from bot.outbox.compute import DeliveryPolicy, Failure, classify_api_error
from bot.outbox.models import OutboxMessage
from bot.settings import Settings

log = logging.getLogger(__name__)

# Web API calls that create something: if Slack may have received one without answering, repeating
# it may create a twin. Other calls (conversations.open, chat.update, views.publish) are repeatable.
CREATING_CALLS = frozenset({"chat.postMessage", "chat.postEphemeral", "files.upload_v2"})
_DB_RETRIES = 3
T = TypeVar("T")


class DeliveryError(Exception):
    """A Web API call failed; ``failure`` says how, in the policy's terms."""

    def __init__(self, failure: Failure):
        super().__init__(failure.error)
        self.failure = failure


@dataclass
class DrainReport:
    """What a sender did: rows sent, retried, rate limited, waiting on another row, dead, recovered."""

    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    waiting: int = 0
    dead: int = 0
    recovered: int = 0
    dead_errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for logs and ``sei-bot jobs run``."""
        line = (
            f"sent {self.sent}, retrying {self.retried}, rate limited {self.rate_limited}, "
            f"waiting {self.waiting}, dead {self.dead}"
        )
        if self.recovered:
            line += f", {self.recovered} expired lease(s) returned to the queue"
        if self.dead_errors:
            line += f" (last dead: {self.dead_errors[-1]})"
        return line


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def classify_exception(api_method: str, exc: BaseException, policy: DeliveryPolicy) -> Failure:
    """Turn what a Web API call raised into a ``Failure`` of the delivery policy."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        return classify_api_error(
            status=int(response.status_code or 0),
            error=data.get("error"),
            retry_after=_header(response.headers, "Retry-After"),
            policy=policy,
        )
    if isinstance(exc, SlackRequestError):
        # files_upload_v2 reports a refused upload of the bytes this way; anything else is our payload.
        if "Failed to upload" in str(exc):
            return Failure("transient", f"{api_method}: {exc}")
        return Failure("permanent", f"{api_method}: {exc}")
    if isinstance(exc, urllib.error.URLError):
        # urllib raises URLError while connecting or sending: Slack never got a whole request.
        return Failure("transient", f"{api_method}: connection failed: {exc.reason}")
    if isinstance(exc, TimeoutError | OSError | http.client.HTTPException):
        # Raised while waiting for the answer: the request may have been processed.
        error = f"{api_method}: no answer ({type(exc).__name__}: {exc})"
        return Failure("uncertain", error) if api_method in CREATING_CALLS else Failure("transient", error)
    return Failure("transient", f"{api_method}: {type(exc).__name__}: {exc}")


class OutboxSender:
    """Claims due outbox rows and delivers them through a pool of ``policy.workers`` threads."""

    def __init__(
        self,
        *,
        engine: Engine,
        client: WebClient,
        policy: DeliveryPolicy | None = None,
        worker_id: str | None = None,
    ):
        self.engine = engine
        self.client = client
        self.policy = policy or DeliveryPolicy()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.report = DrainReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._stopped = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=self.policy.workers, thread_name_prefix="outbox-send")
        self._in_flight: set[Future[None]] = set()

    # --- loop -------------------------------------------------------------------------------------

    def run(self) -> None:
        """Deliver until ``stop()``: the body of the sender thread."""
        log.info("outbox sender %s started (%d workers)", self.worker_id, self.policy.workers)
        self._running.set()
        try:
            self._loop(deadline=None, horizon=None)
        finally:
            self._stopped.set()
            log.info("outbox sender %s stopped: %s", self.worker_id, self.report.describe())

    def drain(self, *, max_seconds: float = 60.0, horizon_seconds: float = 0.0) -> DrainReport:
        """Deliver what is due (or due within ``horizon_seconds``), paced; return what this call did."""
        before = self._snapshot()
        self._loop(deadline=time.monotonic() + max_seconds, horizon=horizon_seconds)
        after = self._snapshot()
        return DrainReport(
            sent=after.sent - before.sent,
            retried=after.retried - before.retried,
            rate_limited=after.rate_limited - before.rate_limited,
            waiting=after.waiting - before.waiting,
            dead=after.dead - before.dead,
            recovered=after.recovered - before.recovered,
            dead_errors=after.dead_errors[len(before.dead_errors) :],
        )

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, let the calls in flight finish and be recorded, then return."""
        self._stop.set()
        if self._running.is_set():
            self._stopped.wait(timeout)
        self._pool.shutdown(wait=True)

    def _snapshot(self) -> DrainReport:
        with self._lock:
            r = self.report
            return DrainReport(r.sent, r.retried, r.rate_limited, r.waiting, r.dead, r.recovered, list(r.dead_errors))

    def _loop(self, *, deadline: float | None, horizon: float | None) -> None:
        last_expiry = float("-inf")
        while not self._stop.is_set():
            now_mono = time.monotonic()
            if deadline is not None and now_mono >= deadline:
                break
            try:
                if now_mono - last_expiry >= self.policy.lease_seconds / 2:
                    self._expire_leases()
                    last_expiry = now_mono
                claimed = self._claim()
                pause: float | None = self.policy.poll_interval
                if not claimed and not self._in_flight:
                    pause = self._idle_pause(horizon)
                if pause is None:  # drain: nothing left within the horizon
                    break
            except Exception:  # the database may be briefly unreachable: keep the loop alive
                log.exception("outbox sender %s: claiming failed; retrying", self.worker_id)
                pause = self.policy.idle_interval
            self._wait(pause)
        self._wait_in_flight()

    def _claim(self) -> list[OutboxMessage]:
        self._in_flight = {f for f in self._in_flight if not f.done()}
        free = self.policy.workers - len(self._in_flight)
        if free <= 0:
            return []
        with session_scope(self.engine) as session:
            rows = service.claim_batch(session=session, worker=self.worker_id, limit=free, policy=self.policy)
        for row in rows:
            self._in_flight.add(self._pool.submit(self._deliver, row))
        return rows

    def _idle_pause(self, horizon: float | None) -> float | None:
        with session_scope(self.engine) as session:
            due = service.next_due_at(session=session)
        now = utcnow()
        if horizon is not None and (due is None or due > now + timedelta(seconds=horizon)):
            return None
        if due is None:
            return self.policy.idle_interval
        seconds = (due - now).total_seconds()
        return min(max(seconds, self.policy.poll_interval), self.policy.idle_interval)

    def _wait(self, seconds: float) -> None:
        if self._in_flight:
            wait(self._in_flight, timeout=seconds, return_when=FIRST_COMPLETED)
        else:
            self._stop.wait(seconds)

    def _wait_in_flight(self) -> None:
        if self._in_flight:
            wait(self._in_flight)
        self._in_flight = set()

    def _expire_leases(self) -> None:
        with session_scope(self.engine) as session:
            recovered = service.expire_leases(session=session, policy=self.policy)
        if recovered:
            with self._lock:
                self.report.recovered += recovered

    # --- one row ----------------------------------------------------------------------------------

    def _deliver(self, row: OutboxMessage) -> None:
        """Make the Web API call(s) of one claimed row and record the outcome."""
        try:
            with session_scope(self.engine) as session:
                payload = service.resolve_payload(session=session, payload=row.payload)
            result = self._call(row.method, payload)
        except service.ReferenceNotReady as exc:
            self._record_failure(row, Failure("waiting", str(exc)))
        except service.ReferenceFailed as exc:
            self._record_failure(row, Failure("permanent", str(exc)))
        except DeliveryError as exc:
            self._record_failure(row, exc.failure)
        except Exception as exc:  # a bug or an unexpected answer: count it, keep the row, keep going
            log.exception("outbox row %s (%s) failed unexpectedly", row.id, row.key)
            self._record_failure(row, Failure("transient", f"{type(exc).__name__}: {exc}"))
        else:
            self._record_sent(row, result)

    def _write(self, what: str, action: Callable[[Session], T]) -> tuple[bool, T | None]:
        """Run one short transaction, retried a few times: a brief database error must not leave a
        delivered row unrecorded (it would be retried as uncertain when its lease passes)."""
        for attempt in range(1, _DB_RETRIES + 1):
            try:
                with session_scope(self.engine) as session:
                    return True, action(session)
            except Exception:
                if attempt == _DB_RETRIES:
                    log.exception("outbox: could not record %s", what)
                    return False, None
                time.sleep(0.2 * attempt)
        return False, None  # pragma: no cover - the loop always returns

    def _record_sent(self, row: OutboxMessage, result: dict[str, Any]) -> None:
        # Slack has the message: recording it comes before anything else.
        recorded, _ = self._write(
            f"the delivery of {row.key}",
            lambda session: service.mark_sent(
                session=session, message_id=row.id or 0, worker=self.worker_id, result=result
            ),
        )
        if not recorded:
            return
        with self._lock:
            self.report.sent += 1
        log.debug("outbox row %s (%s) sent: %s", row.id, row.key, result)

    def _record_failure(self, row: OutboxMessage, failure: Failure) -> None:
        _, plan = self._write(
            f"the failure of {row.key}",
            lambda session: service.record_failure(
                session=session, message=row, worker=self.worker_id, failure=failure, policy=self.policy
            ),
        )
        if plan is None:
            return
        with self._lock:
            if plan.status == "dead":
                self.report.dead += 1
                self.report.dead_errors.append(f"{row.key}: {plan.error}")
            elif failure.kind == "rate_limited":
                self.report.rate_limited += 1
            elif failure.kind == "waiting":
                self.report.waiting += 1
            else:
                self.report.retried += 1
        if plan.status == "dead":
            log.error("outbox row %s (%s) is dead: %s", row.id, row.key, plan.error)
        else:
            log.info("outbox row %s (%s) retries at %s: %s", row.id, row.key, plan.not_before, plan.error)

    # --- Web API ----------------------------------------------------------------------------------

    def _api(self, api_method: str, call: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except Exception as exc:
            raise DeliveryError(classify_exception(api_method, exc, self.policy)) from exc

    def _open_dm(self, user: str) -> str:
        opened = self._api("conversations.open", self.client.conversations_open, users=user)
        return str(opened["channel"]["id"])

    def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Make the Web API call(s) of one outbox method; returns what later rows may reference."""
        client = self.client
        if method == "chat.postMessage":
            sent = self._api(method, client.chat_postMessage, **payload)
            return {"channel": sent.get("channel"), "ts": sent.get("ts")}
        if method == "chat.update":
            sent = self._api(method, client.chat_update, **payload)
            return {"channel": sent.get("channel"), "ts": sent.get("ts")}
        if method == "chat.postEphemeral":
            sent = self._api(method, client.chat_postEphemeral, **payload)
            return {"message_ts": sent.get("message_ts")}
        if method == "dm":
            args = dict(payload)
            user = str(args.pop("user"))
            args.pop("channel", None)  # the IM's id comes from conversations.open
            channel = self._open_dm(user)
            sent = self._api("chat.postMessage", client.chat_postMessage, channel=channel, **args)
            return {"channel": sent.get("channel") or channel, "ts": sent.get("ts"), "user": user}
        if method == "files.upload_v2":
            args = dict(payload)
            channel = str(args.pop("channel"))
            if channel[:1] in ("U", "W"):  # a person: share the file in the DM with them
                channel = self._open_dm(channel)
            content = base64.b64decode(args.pop("content_base64"))
            shared = self._api(method, client.files_upload_v2, channel=channel, content=content, **args)
            files = shared.get("files") or [{}]
            return {"channel": channel, "file_id": files[0].get("id")}
        if method == "views.publish":
            published = self._api(method, client.views_publish, **payload)
            return {"view_id": (published.get("view") or {}).get("id")}
        raise DeliveryError(Failure("permanent", f"unsupported outbox method {method!r}"))


def build_sender(settings: Settings, engine: Engine, *, policy: DeliveryPolicy | None = None) -> OutboxSender:
    """A sender using the configured bot token and ``SLACK_API_URL``, with no blind retries."""
    from bot.app import make_web_client

    policy = policy or DeliveryPolicy()
    client = make_web_client(settings)
    # The sender decides every retry itself (the outbox key is the guard); the client retries nothing.
    client.retry_handlers = []
    client.timeout = policy.request_timeout  # type: ignore[assignment]
    return OutboxSender(engine=engine, client=client, policy=policy)


def start_sender(settings: Settings, engine: Engine) -> list[threading.Thread]:
    """Run the sender loop in a daemon thread; ``bot.background.stop_all`` (or exit) stops it gracefully."""
    if settings.slack_bot_token is None:
        log.warning("SLACK_BOT_TOKEN is not set: the outbox sender is not started; messages wait in the outbox")
        return []
    from bot.background import on_stop

    sender = build_sender(settings, engine)
    thread = threading.Thread(target=sender.run, name="outbox-sender", daemon=True)
    thread.start()
    on_stop(sender.stop)
    return [thread]


def drain_outbox(
    settings: Settings,
    engine: Engine,
    *,
    policy: DeliveryPolicy | None = None,
    max_seconds: float = 50.0,
    horizon_seconds: float = 0.0,
) -> DrainReport:
    """Deliver every due message once, honouring the rate limits, and report what happened."""
    if settings.slack_bot_token is None:
        raise ValueError("SLACK_BOT_TOKEN is not set: the outbox cannot be delivered")
    sender = build_sender(settings, engine, policy=policy)
    try:
        return sender.drain(max_seconds=max_seconds, horizon_seconds=horizon_seconds)
    finally:
        sender.stop()
