"""``sei-bot manifest`` prints a manifest Slack's own schema accepts, matching this configuration."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.app import BOT_SCOPES
from bot.cli import main


@pytest.fixture(scope="module")
def schema(fixtures_dir: Path) -> dict:
    return json.loads((fixtures_dir / "slack/manifest-schema/schemas_manifest.schema.2.0.0.json").read_text())


def _manifest(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["manifest", *argv]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_http_manifest_points_every_url_at_slack_events(
    schema: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEI_PUBLIC_URL", "https://sei.example.com/")
    manifest = _manifest(capsys)
    jsonschema.validate(manifest, schema)
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/dora", "/pulse"]
    assert {c["url"] for c in manifest["features"]["slash_commands"]} == {"https://sei.example.com/slack/events"}
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == "https://sei.example.com/slack/events"
    assert settings["interactivity"] == {"is_enabled": True, "request_url": "https://sei.example.com/slack/events"}
    assert "app_uninstalled" in settings["event_subscriptions"]["bot_events"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is False
    assert settings["socket_mode_enabled"] is False
    assert manifest["oauth_config"]["scopes"]["bot"] == BOT_SCOPES
    assert {"commands", "chat:write", "im:write", "files:write", "users:read", "users:read.email"} <= set(BOT_SCOPES)
    assert "redirect_urls" not in manifest["oauth_config"]


def test_socket_mode_needs_no_url(
    schema: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0-1-abc")
    manifest = _manifest(capsys)
    jsonschema.validate(manifest, schema)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in manifest["settings"]["event_subscriptions"]
    assert all("url" not in c for c in manifest["features"]["slash_commands"])


def test_oauth_adds_the_redirect_url(
    schema: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    manifest = _manifest(capsys, "--url", "https://bot.example.org")
    jsonschema.validate(manifest, schema)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]


@pytest.mark.parametrize(
    ("argv", "says"), [([], "needs the bot's public URL"), (["--url", "sei.example.com"], "is not a URL")]
)
def test_missing_or_bad_url_is_one_line(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]
