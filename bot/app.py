"""``create_app(settings)``: the one Bolt app, built once with every listener registered once.

HTTP mode (``bot.web``) and Socket Mode (``bot.server``) both call it. Cross-cutting concerns are
middleware: the database engine and settings in every listener's context, Slack event deduplication
on ``event_id``, and one error handler that turns known errors into a friendly ephemeral message.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bot.db import get_engine, session_scope
from bot.errors import UserFacingError
from bot.handlers import HANDLER_MODULES
from bot.ingest.models import SlackEventSeen
from bot.settings import Settings

log = logging.getLogger(__name__)

# Threads for lazy listeners: about the cores a process gets (2 gave acks a lower p99 than 4 under load).
LAZY_WORKERS = 2

BOT_SCOPES = [
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "files:write",
    "users:read",
    "users:read.email",
    "channels:read",
]


def make_web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client pointed at ``SLACK_API_URL`` that retries connection errors and 429s."""
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=15,
        # 429 means "not processed", so retrying after Retry-After cannot post twice.
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1), RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def _oauth_settings(settings: Settings, engine: Engine) -> OAuthSettings | None:
    if not (settings.slack_client_id and settings.slack_client_secret):
        return None
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=BOT_SCOPES,
        installation_store=SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine),
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
        install_path="/slack/install",
        redirect_uri_path="/slack/oauth_redirect",
    )


def tell_user_about_error(error: Exception, body: dict[str, Any], respond: Any, logger: logging.Logger) -> None:
    """Known errors become a friendly ephemeral message; anything else gets a reference and the traceback logged."""
    if isinstance(error, UserFacingError):
        message = str(error)
    else:
        ref = uuid.uuid4().hex[:8]
        logger.exception("unhandled error (ref %s)", ref, exc_info=error)
        message = f":warning: Something went wrong on our side (ref `{ref}`). It has been logged."
    if body.get("response_url"):
        try:
            respond(text=message, response_type="ephemeral", replace_original=False)
        except Exception:  # the response_url may have expired; the log keeps the details
            logger.warning("could not tell the user about the error", exc_info=True)


@contextmanager
def errors_told_to_user(body: dict[str, Any], respond: Any, logger: logging.Logger) -> Iterator[None]:
    """The app-wide error handling, for lazy listeners (Bolt only logs what they raise)::

    def handle_x(body, respond, logger):
        with errors_told_to_user(body, respond, logger):
            ...
    """
    try:
        yield
    except Exception as error:
        tell_user_about_error(error, body, respond, logger)


def create_app(settings: Settings, *, engine: Engine | None = None) -> App:
    """Build the Bolt app with every listener registered once."""
    engine = engine or get_engine(settings.database_url)
    oauth = _oauth_settings(settings, engine)
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = App(
        signing_secret=signing_secret,
        token=None if oauth else (settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None),
        client=make_web_client(settings),
        oauth_settings=oauth,
        token_verification_enabled=False,
        request_verification_enabled=True,
        # Acks run in this pool; Bolt's default of 5 queues up under bursts.
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="bolt"),
        raise_error_for_unhandled_request=False,
        process_before_response=False,
    )

    # Lazy work (reports, charts, fan-outs) gets its own small pool. Sharing the ack pool, a burst of
    # slow lazy tasks queued new acks behind them, and dozens of CPU-bound threads fighting for the
    # GIL made acks miss Slack's 3 s (BENCHMARKS.md, dora_ack). Queued here, it waits its turn.
    app.listener_runner.lazy_listener_runner.executor = ThreadPoolExecutor(  # type: ignore[attr-defined]
        max_workers=LAZY_WORKERS, thread_name_prefix="bolt-lazy"
    )

    # Bolt deep-copies the context for lazy listeners and silently drops what cannot be copied, such
    # as the engine. The engine is process-wide and thread-safe: its "copy" is the engine itself.
    engine.__deepcopy__ = lambda memo: engine  # type: ignore[attr-defined]

    @app.middleware
    def inject_services(context: Any, next: Any) -> None:
        context["settings"] = settings
        context["engine"] = engine
        next()

    @app.middleware
    def deduplicate_events(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            try:
                with session_scope(engine) as session:
                    session.add(SlackEventSeen(event_id=str(event_id)[:100]))
            except IntegrityError:
                log.info("event %s already handled; acknowledging the retry", event_id)
                return BoltResponse(status=200, body="")
        next()
        return None

    app.error(tell_user_about_error)

    for module_name in HANDLER_MODULES:
        importlib.import_module(module_name).register(app)
    return app
