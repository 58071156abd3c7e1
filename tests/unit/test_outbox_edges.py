"""Pure pieces at the outbox's edges: how raised errors are classified, which modules touch Slack."""

from __future__ import annotations

import ast
import http.client
import urllib.error
from pathlib import Path

import pytest
from slack_sdk.errors import SlackRequestError

from bot.outbox.compute import DeliveryPolicy
from bot.outbox.sender import classify_exception
from bot.scheduler.registry import JobContext, JobRegistry, every

BOT = Path(__file__).resolve().parents[2] / "bot"
# The app factory, servers and library tables are the platform; handlers and the sender are the edge.
SLACK_ALLOWED = {"app.py", "server.py", "web.py", "platform_tables.py", "outbox/sender.py"}


@pytest.mark.parametrize(
    ("api_method", "exc", "kind"),
    [
        ("chat.postMessage", urllib.error.URLError(ConnectionRefusedError(111, "refused")), "transient"),
        ("chat.postMessage", TimeoutError("timed out"), "uncertain"),
        ("chat.postMessage", ConnectionResetError(104, "reset"), "uncertain"),
        ("files.upload_v2", http.client.RemoteDisconnected("closed"), "uncertain"),
        ("conversations.open", TimeoutError("timed out"), "transient"),
        ("chat.update", TimeoutError("timed out"), "transient"),
        ("files.upload_v2", SlackRequestError("Failed to upload a file (status: 500)"), "transient"),
        (
            "files.upload_v2",
            SlackRequestError("Any of file, content, and file_uploads must be specified."),
            "permanent",
        ),
        ("chat.postMessage", RuntimeError("surprise"), "transient"),
    ],
)
def test_raised_errors_are_classified_by_whether_slack_may_have_acted(
    api_method: str, exc: BaseException, kind: str
) -> None:
    assert classify_exception(api_method, exc, DeliveryPolicy()).kind == kind


def test_only_the_edge_imports_slack() -> None:
    offenders = []
    for path in BOT.rglob("*.py"):
        relative = path.relative_to(BOT).as_posix()
        if relative in SLACK_ALLOWED or relative.startswith("handlers/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("slack_sdk", "slack_bolt") for n in names):
                offenders.append(relative)
    assert offenders == []


def _job(ctx: JobContext) -> str:
    return "ok"


def test_jobs_need_kebab_case_unique_ids_and_named_functions() -> None:
    registry = JobRegistry()
    registry.register_job("weekly-digests", _job, every(minutes=15), "Digests")
    with pytest.raises(ValueError, match="kebab-case"):
        registry.register_job("Weekly_Digests", _job, every(minutes=15), "Digests")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_job("weekly-digests", _job, every(minutes=15), "Digests")
    with pytest.raises(ValueError, match="named module-level function"):
        registry.register_job("inline", lambda ctx: "x", every(minutes=15), "Inline")
    assert registry.ids() == ["weekly-digests"] and registry.get("nope") is None
