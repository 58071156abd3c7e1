"""``python -m bench.serve MODE PORT``: ``sei-bot serve`` for the ack benchmark, configured by the environment.

MODE ``lazy`` is the bot as shipped. MODE ``work-before-ack`` registers ``/dora`` so that the
report, chart and posts happen before ``ack()``: the baseline the ack-first design is measured against.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any
from unittest import mock

from slack_bolt import App

from bot.handlers import dora
from bot.server import cmd_serve
from bot.settings import get_settings


def register_work_before_ack(app: App) -> None:
    """``/dora`` doing all its work, then acknowledging."""

    def dora_then_ack(ack: Any, command: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
        plan = dora.plan_dora(context["engine"], command.get("text", ""), command.get("channel_id"))
        assert plan.team is not None
        dora.post_report(context["engine"], client, respond, plan.team, plan.command, command["channel_id"])
        ack(text="Done.")

    app.command("/dora")(dora_then_ack)


def main(mode: str, port: int) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args = argparse.Namespace(host="127.0.0.1", port=port, threads=16, no_scheduler=True)
    if mode == "work-before-ack":
        with mock.patch.object(dora, "register", register_work_before_ack):
            return cmd_serve(args, get_settings())
    return cmd_serve(args, get_settings())


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], int(sys.argv[2])))
