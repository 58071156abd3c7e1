"""``sei-bot demo``: offline, it seeds a fresh database, prints every team's keys and writes charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def test_demo_runs_offline_and_writes_charts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--team", "mobile"]) == 0
    printed = capsys.readouterr().out
    for team in ("payments", "checkout", "search", "mobile"):
        png = out / f"dora-{team}.png"
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 10_000
        assert f"  {team} " in printed
    assert "/dora mobile in a terminal" in printed and "Lead time for changes" in printed
    assert (out / "teams.yml").read_text().startswith(("defaults", "teams", "#"))
    # A second run starts from a fresh database rather than adding to the first.
    assert main(["demo", "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("payments   elite") == 1
