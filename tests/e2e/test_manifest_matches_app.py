"""Everything the manifest declares is answered by the app: no command or event gets Bolt's 404."""

from __future__ import annotations

from bot.manifest import build_manifest
from tests.fakes.live_app import LiveApp


def test_every_declared_command_and_event_is_answered(live_app: LiveApp) -> None:
    manifest = build_manifest(public_url="https://sei-bot.example.com", socket_mode=False, oauth=False)
    for command in manifest["features"]["slash_commands"]:
        reply = live_app.driver.command(command["command"], "help")
        assert reply.status == 200 and reply.ack_text, command["command"]
    for event_type in manifest["settings"]["event_subscriptions"]["bot_events"]:
        reply = live_app.driver.event({"type": event_type, "user": "U01AAAAAAA", "channel": "C0123ABCD"})
        assert reply.status == 200, event_type
