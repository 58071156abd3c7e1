"""``sei-bot manifest``: the Slack app manifest (YAML) for this configuration, ready to paste into Slack.

Request URLs point at ``<public url>/slack/events`` (one endpoint for commands, interactivity and
events); with ``SLACK_APP_TOKEN`` set the app uses Socket Mode and needs no public URL at all.
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from bot.app import BOT_SCOPES
from bot.cli import CommandError
from bot.settings import Settings

APP_NAME = "sei-bot"
# Every event subscribed here needs a listener, or Bolt answers 404 and Slack retries.
# The App Home and /reviews are declared once they are built (the manifest states what the app answers).
BOT_EVENTS = ("app_uninstalled", "tokens_revoked", "member_joined_channel")
SLASH_COMMANDS = (
    (
        "/dora",
        "Your team's DORA metrics: deployment frequency, lead time, failure rate, recovery",
        "[team] [30d|90d|quarter] · TEAM explain METRIC · help",
    ),
    (
        "/pulse",
        "Anonymous pulse surveys: your team's results (only above the anonymity threshold); leads start one",
        "[team] · start TEAM [template] · close TEAM · templates · help",
    ),
)


def build_manifest(*, public_url: str | None, socket_mode: bool, oauth: bool) -> dict[str, Any]:
    """The manifest as data; ``public_url`` is required unless ``socket_mode``."""
    events_url = f"{public_url.rstrip('/')}/slack/events" if public_url else None
    commands = []
    for command, description, hint in SLASH_COMMANDS:
        entry = {"command": command, "description": description, "usage_hint": hint, "should_escape": False}
        if events_url and not socket_mode:
            entry["url"] = events_url
        commands.append(entry)
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if events_url and not socket_mode:
        events["request_url"] = events_url
        interactivity["request_url"] = events_url
    oauth_config: dict[str, Any] = {"scopes": {"bot": list(BOT_SCOPES)}}
    if oauth and public_url:
        oauth_config["redirect_urls"] = [f"{public_url.rstrip('/')}/slack/oauth_redirect"]
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": APP_NAME,
            "description": "Delivery metrics, pulse surveys and the actions that improve both, in your team's channel.",
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": APP_NAME, "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": oauth_config,
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def cmd_manifest(args: argparse.Namespace, settings: Settings) -> int:
    """Print the manifest YAML for ``--url`` / ``SEI_PUBLIC_URL`` (or Socket Mode)."""
    public_url = args.url or settings.sei_public_url
    socket_mode = settings.slack_app_token is not None
    if not public_url and not socket_mode:
        raise CommandError(
            "the manifest needs the bot's public URL: pass --url https://sei-bot.example.com or set "
            "SEI_PUBLIC_URL (or set SLACK_APP_TOKEN to use Socket Mode, which needs none)"
        )
    if public_url and not public_url.startswith(("https://", "http://")):
        raise CommandError(f"{public_url} is not a URL: use the form https://sei-bot.example.com")
    manifest = build_manifest(
        public_url=public_url, socket_mode=socket_mode, oauth=settings.slack_client_id is not None
    )
    print(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=120), end="")
    return 0
