"""Slack is an edge: only bot/handlers and bot/app.py (and the sending module) import Slack's libraries."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
ALLOWED = {"app.py", "web.py", "server.py", "manifest.py", "platform_tables.py"}
ALLOWED_DIRS = {"handlers", "outbox"}


def test_domain_packages_do_not_import_slack() -> None:
    offenders = []
    for path in BOT.rglob("*.py"):
        relative = path.relative_to(BOT)
        if relative.parts[0] in ALLOWED_DIRS or str(relative) in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{relative}: {n}" for n in names if n.split(".")[0] in ("slack_bolt", "slack_sdk")]
    assert offenders == []
