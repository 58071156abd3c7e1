"""A fake Slack Web API on a real local HTTP port, for tests that run the bot end to end.

Start one, point the bot at it with ``SLACK_API_URL=fake.base_url`` and assert on what the bot sent::

    with FakeSlack() as slack:                       # or the ``fake_slack`` pytest fixture
        settings = Settings(slack_api_url=slack.base_url, slack_bot_token=slack.bot_token, ...)
        ...                                          # drive the app (tests/fakes/driver.py)
        post = slack.wait_for("chat.postMessage")[0] # lazy work runs after the ack: wait for it
        assert post.args["channel"] == "C0123ABCD"
        assert slack.block_kit_violations == []      # every message and view respected the limits
        assert slack.peak_posts_per_second("C0123ABCD") <= 1

What it does, in Slack's shapes (the success examples of ``fixtures/slack/method-reference``):

- Records every call as an ``ApiCall`` (method, decoded args from the query, a form or a JSON body,
  token, time, the answer). ``calls``, ``calls_to(method)``, ``wait_for(method, count, predicate)``.
- Checks the bot token (``not_authed`` / ``invalid_auth``) and arguments (``channel_not_found``,
  ``no_text``, ``message_not_found``, ``users_not_found``…).
- Keeps messages (``messages_in(channel)``, updated in place by ``chat.update``), ephemeral messages,
  views (``views.open/update/push/publish`` with ``hash`` checks) and users (``add_user``).
- Issues ``trigger_id``s (``issue_trigger_id()``: valid 3 s, once) and ``response_url``s
  (``issue_response_url()``: 5 uses within 30 min) and serves the ``response_url`` endpoint;
  ``response_posts`` records what was posted there. ``advance(seconds)`` moves the fake's clock.
- Files: ``files.getUploadURLExternal`` answers an absolute ``upload_url`` on the fake itself,
  the POST of the bytes is kept in ``uploads``; ``files.completeUploadExternal`` shares them
  (``shared_files``: file id, channel, title, bytes), refusing channels the bot is not in
  (``leave_channel``).
- Validates Block Kit limits in messages, response_url posts and views (tests/fakes/block_kit.py):
  a broken message is refused with ``invalid_blocks`` as Slack does, and the problem is kept in
  ``block_kit_violations``.
- Faults per method: ``inject(method, status=429, retry_after=1)``, ``inject(method, status=503)``,
  ``inject(method, error="channel_not_found")``, ``inject(method, delay=2.0)``; ``times`` says how
  many calls they affect (``None``: all). ``enforce_post_rate=True`` answers 429 to a second
  ``chat.postMessage`` in one channel within a second, as Slack may.
- Times of ``chat.postMessage`` per channel: ``post_times(channel)``, ``peak_posts_per_second``.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.fakes.block_kit import message_problems, view_problems

DEFAULT_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"

TRIGGER_TTL_S = 3.0
RESPONSE_URL_TTL_S = 30 * 60.0
RESPONSE_URL_USES = 5

# Arguments that Slack takes as JSON strings in form-encoded calls.
_JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata", "user_auth_blocks")


@dataclass
class ApiCall:
    """One Web API call as the fake received and answered it."""

    method: str
    args: dict[str, Any]
    token: str | None
    content_type: str
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the fake answered 200 with ``ok: true``."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class ResponsePost:
    """A POST to a ``response_url`` the fake issued."""

    url: str
    body: dict[str, Any]
    at: float
    status: int


@dataclass
class Upload:
    """Bytes POSTed to an ``upload_url``."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None


@dataclass
class SharedFile:
    """A file completed into a channel by ``files.completeUploadExternal``."""

    file_id: str
    channel: str | None
    title: str | None
    filename: str
    data: bytes
    initial_comment: str | None
    thread_ts: str | None


@dataclass
class Fault:
    """A failure injected into the next calls of one method."""

    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    times: int | None = 1


@dataclass
class _Issued:
    issued_at: float
    uses: int = 0


def _load_examples(fixtures_dir: Path) -> dict[str, dict[str, Any]]:
    examples: dict[str, dict[str, Any]] = {}
    for path in sorted((fixtures_dir / "slack" / "method-reference").glob("*.json")):
        doc = json.loads(path.read_text())
        success = doc.get("examples", {}).get("success", {}).get("example")
        if success:
            examples[path.stem] = success
    return examples


class _QuietHandler(WSGIRequestHandler):
    """No access log: tests assert on ``calls``, and benchmarks should not pay for logging."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class SlackApiError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": code}``."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error = error
        self.extra = extra


class FakeSlack:
    """The fake Web API; see the module docstring. Thread-safe; ``start()``/``stop()`` or ``with``."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",  # noqa: S107 - a fake token for a fake server
        team_id: str = "T0TEST001",
        bot_user_id: str = "U0BOT0001",
        bot_id: str = "B0BOT0001",
        fixtures_dir: Path | None = None,
        enforce_post_rate: bool = False,
    ):
        self.bot_token = bot_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.enforce_post_rate = enforce_post_rate
        self.examples = _load_examples(fixtures_dir or DEFAULT_FIXTURES)
        self._lock = threading.Condition()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._offset = 0.0
        self._seq = 0
        self.reset()

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Serve on a random local port in a background thread."""
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self._server is None:
            raise RuntimeError("the fake Slack is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def base_url(self) -> str:
        """The value for ``SLACK_API_URL`` (with the trailing slash ``WebClient`` needs)."""
        return self.url + "/api/"

    def reset(self) -> None:
        """Forget every call, message, view, user, fault and issued id."""
        with self._lock:
            self.calls: list[ApiCall] = []
            self.response_posts: list[ResponsePost] = []
            self.block_kit_violations: list[str] = []
            self.messages: dict[tuple[str, str], dict[str, Any]] = {}
            self.ephemerals: list[dict[str, Any]] = []
            self.views: dict[str, dict[str, Any]] = {}
            self.home_views: dict[str, dict[str, Any]] = {}
            self.users: dict[str, dict[str, Any]] = {}
            self.uploads: dict[str, Upload] = {}
            self.shared_files: list[SharedFile] = []
            self.not_member_of: set[str] = set()
            self._faults: dict[str, list[Fault]] = defaultdict(list)
            self._triggers: dict[str, _Issued] = {}
            self._response_urls: dict[str, _Issued] = {}
            self._post_times: dict[str, list[float]] = defaultdict(list)

    # --- clock ----------------------------------------------------------------------------------

    def now(self) -> float:
        """The fake's clock: wall time plus whatever ``advance`` added."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (expire trigger ids and response URLs without sleeping)."""
        with self._lock:
            self._offset += seconds

    # --- set-up helpers -------------------------------------------------------------------------

    def add_user(
        self, user_id: str, *, email: str | None = None, name: str | None = None, tz: str = "UTC", **extra: Any
    ) -> dict[str, Any]:
        """Make ``users.info`` and ``users.lookupByEmail`` know a user; returns the user object."""
        template = json.loads(json.dumps(self.examples.get("users.info", {}).get("user", {})))
        name = name or user_id.lower()
        user = {
            **template,
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": name.title(),
            "tz": tz,
            "tz_label": tz,
            "tz_offset": 0,
            **extra,
        }
        user["profile"] = {**template.get("profile", {}), "real_name": name.title(), "display_name": name}
        user["profile"]["email"] = email
        with self._lock:
            self.users[user_id] = user
        return user

    def leave_channel(self, channel: str) -> None:
        """The bot is not a member of this channel: file shares there fail with ``not_in_channel``."""
        with self._lock:
            self.not_member_of.add(channel)

    def inject(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        times: int | None = 1,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` fail or slow down (``None``: every call).

        ``status=429`` answers ``Retry-After: retry_after`` (default 1); ``status>=500`` answers that
        status; ``error`` answers ``{"ok": false, "error": error}``; ``delay`` sleeps before answering
        (then answers normally unless another option is set).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(status=status, error=error, retry_after=retry_after, delay=delay, times=times)
        with self._lock:
            self._faults[method].append(fault)
        return fault

    def issue_trigger_id(self) -> str:
        """A new ``trigger_id``, usable once within 3 s."""
        trigger_id = f"{int(self.now())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = _Issued(self.now())
        return trigger_id

    def issue_response_url(self) -> str:
        """A new ``response_url`` on this fake, usable 5 times within 30 minutes."""
        key = secrets.token_hex(12)
        with self._lock:
            self._response_urls[key] = _Issued(self.now())
        return f"{self.url}/commands/{self.team_id}/{key}"

    # --- assertions helpers ---------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        """Every recorded call of one method, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 10.0,
        predicate: Callable[[ApiCall], bool] | None = None,
    ) -> list[ApiCall]:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) arrived; returns them all.

        Raises ``AssertionError`` listing what did arrive when the time runs out.
        """

        def matching() -> list[ApiCall]:
            return [c for c in self.calls if c.method == method and (predicate is None or predicate(c))]

        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := matching()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = Counter(c.method for c in self.calls)
                    raise AssertionError(f"waited {timeout}s for {count} × {method}, got {len(found)}; calls: {seen}")
                self._lock.wait(remaining)
            return found

    def wait_for_response_posts(self, count: int = 1, *, timeout: float = 10.0) -> list[ResponsePost]:
        """Wait until ``count`` posts reached issued ``response_url``s; returns them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.response_posts) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"waited {timeout}s for {count} response_url post(s), got {self.response_posts}"
                    )
                self._lock.wait(remaining)
            return list(self.response_posts)

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """The messages currently in a channel (as last updated), oldest first."""
        with self._lock:
            return [m for (ch, _), m in sorted(self.messages.items(), key=lambda kv: kv[0][1]) if ch == channel]

    def post_times(self, channel: str) -> list[float]:
        """Times (fake clock) of the ``chat.postMessage`` calls to a channel."""
        with self._lock:
            return list(self._post_times.get(channel, []))

    def peak_posts_per_second(self, channel: str) -> int:
        """The most ``chat.postMessage`` calls to one channel within any 1-second window."""
        times = sorted(self.post_times(channel))
        peak, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= 1.0:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    def shared_png(self, channel: str) -> list[SharedFile]:
        """Files shared to a channel whose bytes are a PNG image."""
        with self._lock:
            return [f for f in self.shared_files if f.channel == channel and f.data.startswith(b"\x89PNG\r\n\x1a\n")]

    # --- HTTP -----------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        path = request.path
        if path.startswith("/api/"):
            response = self._api(request, path.removeprefix("/api/"))
        elif path.startswith("/upload/v1/"):
            response = self._upload(request, path.removeprefix("/upload/v1/"))
        elif path.startswith("/commands/"):
            response = self._response_url(request, path.rsplit("/", 1)[-1])
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def _api(self, request: Request, method: str) -> Response:
        args: dict[str, Any] = dict(parse_qsl(request.query_string.decode()))
        content_type = request.mimetype or ""
        raw = request.get_data()
        if content_type == "application/json" and raw:
            try:
                args.update(json.loads(raw))
            except ValueError:
                return _json({"ok": False, "error": "invalid_json"})
        elif raw:
            args.update(dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
        for key in _JSON_ARGS:
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):  # left as sent: the method refuses it
                    args[key] = json.loads(args[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else args.pop("token", None)
        call = ApiCall(method=method, args=args, token=token, content_type=content_type, at=self.now())

        fault = self._take_fault(method)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        headers: dict[str, str] = {}
        if fault is not None and fault.status == 429:
            call.status, call.response = 429, {"ok": False, "error": "ratelimited"}
            headers["Retry-After"] = str(int(fault.retry_after or 1))
        elif fault is not None and fault.status >= 500:
            call.status, call.response = fault.status, {"ok": False, "error": "fatal_error"}
        elif fault is not None and fault.error:
            call.response = {"ok": False, "error": fault.error}
        else:
            call.response = self._answer(method, args, token, call)
            if call.response.get("error") == "ratelimited":
                call.status = 429
                headers["Retry-After"] = "1"
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()
        return _json(call.response, status=call.status, headers=headers)

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            if not queue:
                return None
            fault = queue[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
            return fault

    def _answer(self, method: str, args: dict[str, Any], token: str | None, call: ApiCall) -> dict[str, Any]:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.bot_token:
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            with self._lock:
                return {"ok": True, **handler(args, call)}
        except SlackApiError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

    def _ts(self) -> str:
        self._seq += 1
        return f"{int(self.now())}.{self._seq:06d}"

    def _check_blocks(self, where: str, blocks: Any, text: Any) -> None:
        if blocks is None and not text:
            raise SlackApiError("no_text")
        problems = message_problems(blocks, text if isinstance(text, str) else None)
        if problems:
            self.block_kit_violations.extend(f"{where}: {p}" for p in problems)
            raise SlackApiError("invalid_blocks", errors=problems, response_metadata={"messages": problems})

    def _check_view(self, where: str, view: Any) -> dict[str, Any]:
        problems = view_problems(view)
        if problems:
            self.block_kit_violations.extend(f"{where}: {p}" for p in problems)
            if any("view_too_large" in p for p in problems):
                raise SlackApiError("view_too_large")
            raise SlackApiError("invalid_arguments", response_metadata={"messages": problems})
        return dict(view)

    @staticmethod
    def _channel(args: dict[str, Any], key: str = "channel") -> str:
        channel = str(args.get(key) or "")
        if not channel:
            raise SlackApiError("channel_not_found")
        return channel

    # --- methods (each returns the fields after "ok": true) --------------------------------------

    def _m_auth_test(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        example = self.examples.get("auth.test", {})
        return {
            "url": example.get("url", "https://example.slack.com/"),
            "team": example.get("team", "Test Workspace"),
            "user": "sei-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        channel = self._channel(args)
        self._check_blocks(f"chat.postMessage to {channel}", args.get("blocks"), args.get("text"))
        now = self.now()
        recent = [t for t in self._post_times[channel] if now - t < 1.0]
        if self.enforce_post_rate and recent:
            raise SlackApiError("ratelimited")
        self._post_times[channel].append(now)
        ts = self._ts()
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": args.get("text", ""),
            "blocks": args.get("blocks"),
            "bot_id": self.bot_id,
            "user": self.bot_user_id,
            "ts": ts,
            "thread_ts": args.get("thread_ts"),
            "metadata": args.get("metadata"),
        }
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        message = self.messages.get((channel, ts))
        if message is None:
            raise SlackApiError("message_not_found")
        self._check_blocks(f"chat.update in {channel}", args.get("blocks"), args.get("text"))
        message.update(text=args.get("text", message["text"]), blocks=args.get("blocks", message["blocks"]))
        message["edited"] = {"user": self.bot_user_id, "ts": self._ts()}
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _m_chat_postEphemeral(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        channel = self._channel(args)
        if not args.get("user"):
            raise SlackApiError("user_not_in_channel")
        self._check_blocks(f"chat.postEphemeral to {channel}", args.get("blocks"), args.get("text"))
        ts = self._ts()
        self.ephemerals.append({"channel": channel, "user": args["user"], "ts": ts, **args})
        return {"message_ts": ts}

    def _m_chat_delete(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        channel = self._channel(args)
        if self.messages.pop((channel, str(args.get("ts"))), None) is None:
            raise SlackApiError("message_not_found")
        return {"channel": channel, "ts": args.get("ts")}

    def _m_chat_getPermalink(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("message_ts") or "")
        return {"channel": channel, "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"}

    def _m_conversations_open(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackApiError("users_list_not_supplied")
        if len(users) > 1:
            return {"channel": {"id": "G" + secrets.token_hex(4).upper()}}
        return {"channel": {"id": "D" + users[0].lstrip("UW")[:10].upper()}}

    def _m_conversations_info(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        channel = self._channel(args)
        return {"channel": {"id": channel, "name": channel.lower(), "is_member": channel not in self.not_member_of}}

    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise SlackApiError("user_not_found")
        return user

    def _m_users_info(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        return {"user": self._user(str(args.get("user") or ""))}

    def _m_users_lookupByEmail(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        email = str(args.get("email") or "").lower()
        for user in self.users.values():
            if (user.get("profile", {}).get("email") or "").lower() == email and email:
                return {"user": user}
        raise SlackApiError("users_not_found")

    def _use_trigger(self, trigger_id: Any) -> None:
        issued = self._triggers.get(str(trigger_id or ""))
        if issued is None:
            raise SlackApiError("invalid_trigger_id")
        if issued.uses:
            raise SlackApiError("exchanged_trigger_id")
        if self.now() - issued.issued_at > TRIGGER_TTL_S:
            raise SlackApiError("expired_trigger_id")
        issued.uses += 1

    def _store_view(self, view: dict[str, Any], *, view_id: str | None = None, root: str | None = None) -> dict:
        view_id = view_id or "V" + secrets.token_hex(5).upper()
        stored = {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(self.now())}.{secrets.token_hex(4)}",
            "root_view_id": root or view_id,
            "app_id": "A0TEST001",
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

    def _m_views_open(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        view = self._check_view("views.open", args.get("view"))
        self._use_trigger(args.get("trigger_id"))
        return {"view": self._store_view(view)}

    def _m_views_push(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        view = self._check_view("views.push", args.get("view"))
        self._use_trigger(args.get("trigger_id"))
        return {"view": self._store_view(view)}

    def _find_view(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("view_id"):
            found = self.views.get(str(args["view_id"]))
        else:
            found = next((v for v in self.views.values() if v.get("external_id") == args.get("external_id")), None)
        if found is None:
            raise SlackApiError("not_found")
        return found

    def _m_views_update(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        view = self._check_view("views.update", args.get("view"))
        current = self._find_view(args)
        if args.get("hash") and args["hash"] != current["hash"]:
            raise SlackApiError("hash_conflict")
        return {"view": self._store_view(view, view_id=current["id"], root=current["root_view_id"])}

    def _m_views_publish(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        view = self._check_view("views.publish", args.get("view"))
        user_id = str(args.get("user_id") or "")
        if not user_id:
            raise SlackApiError("invalid_arguments", response_metadata={"messages": ["invalid `user_id`"]})
        current = self.home_views.get(user_id)
        if current is not None and args.get("hash") and args["hash"] != current["hash"]:
            raise SlackApiError("hash_conflict")
        stored = self._store_view(view, view_id=current["id"] if current else None)
        self.home_views[user_id] = stored
        return {"view": stored}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or length in (None, ""):
            raise SlackApiError("missing_argument")
        file_id = "F" + secrets.token_hex(5).upper()
        self.uploads[file_id] = Upload(file_id=file_id, filename=str(filename), length=int(length))
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any], call: ApiCall) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise SlackApiError("invalid_arguments")
        channel = args.get("channel_id") or None
        if channel is not None:
            if str(channel)[:1] not in ("C", "G", "D"):
                raise SlackApiError("invalid_channel")
            if channel in self.not_member_of:
                raise SlackApiError("not_in_channel")
        answered = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or upload.data is None:
                raise SlackApiError("file_not_found")
            self.shared_files.append(
                SharedFile(
                    file_id=upload.file_id,
                    channel=channel,
                    title=item.get("title"),
                    filename=upload.filename,
                    data=upload.data,
                    initial_comment=args.get("initial_comment"),
                    thread_ts=args.get("thread_ts"),
                )
            )
            answered.append({"id": upload.file_id, "title": item.get("title") or upload.filename})
        return {"files": answered}

    # --- upload_url and response_url endpoints ---------------------------------------------------

    def _upload(self, request: Request, file_id: str) -> Response:
        data = request.get_data()
        with self._lock:
            upload = self.uploads.get(file_id)
            if upload is None or request.method != "POST":
                return Response("invalid upload url", status=404)
            upload.data = data
            self._lock.notify_all()
        return Response(f"OK - {len(data)}", status=200, mimetype="text/plain")

    def _response_url(self, request: Request, key: str) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return Response("invalid_payload", status=400)
        url = request.base_url
        with self._lock:
            issued = self._response_urls.get(key)
            if issued is None:
                status, answer = 404, "no_such_url"
            elif self.now() - issued.issued_at > RESPONSE_URL_TTL_S:
                status, answer = 404, "expired_url"
            elif issued.uses >= RESPONSE_URL_USES:
                status, answer = 404, "used_url"
            else:
                issued.uses += 1
                problems = message_problems(body.get("blocks"), body.get("text"))
                if problems:
                    self.block_kit_violations.extend(f"response_url: {p}" for p in problems)
                    status, answer = 400, "invalid_blocks"
                else:
                    status, answer = 200, "ok"
            self.response_posts.append(ResponsePost(url=url, body=body, at=self.now(), status=status))
            self._lock.notify_all()
        return Response(answer, status=status, mimetype="text/plain")


def _json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers or {})
