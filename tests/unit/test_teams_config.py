"""teams.yml validation: defaults, and errors that name the file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.teams.config import TeamsConfigError, load_teams_file, parse_teams_yaml

DESIGN_EXAMPLE = textwrap.dedent(
    """\
    defaults:
      timezone: UTC
      anonymity_threshold: 5
      profile: dora-2023
    teams:
      team-a:
        name: Team A
        channel: C0123ABCD
        timezone: Europe/Berlin
        repos: [acme/api, acme/web]
        production:
          environments: "^(production|prod)$"
          branch: main
        members: [U01AAAAAAA, U01BBBBBBB]
        leads: [U01AAAAAAA]
        digest: {day: monday, time: "09:00"}
        survey: {template: pulse, every_weeks: 2, day: tuesday, time: "10:00", open_days: 3}
        reviews: {threshold_hours: 8, escalate_hours: 16, working_hours: "09:00-17:00", working_days: [mon, tue, wed, thu, fri], holidays: [2026-12-25]}
        incidents: {github_label: incident, pagerduty_services: [PABC123], attribution_window_hours: 24}
        targets: {lead_time_hours: 48, change_failure_rate: 0.10}
    people:
      - {slack: U01AAAAAAA, github: alice, email: alice@example.com}
      - {slack: U01BBBBBBB, github: bob}
    """
)


def test_design_example_is_valid_and_normalised() -> None:
    config = parse_teams_yaml(DESIGN_EXAMPLE)
    team = config.teams["team-a"]
    assert team.timezone == "Europe/Berlin"
    assert team.digest.day == "mon" and team.survey.day == "tue"
    assert team.production.is_production("production") and team.production.is_production("prod")
    assert not team.production.is_production("staging")
    assert team.incidents.attribution_window_hours == 24
    assert config.team_for_channel("C0123ABCD") is team


def test_minimal_team_gets_every_default() -> None:
    config = parse_teams_yaml("teams:\n  web:\n    channel: C0999\n    repos: [acme/web]\n")
    team = config.teams["web"]
    assert team.name == "Web" and team.profile == "dora-2023" and team.anonymity_threshold == 5
    assert team.reviews.working_days == ["mon", "tue", "wed", "thu", "fri"]


def test_defaults_section_applies_to_every_team() -> None:
    text = "defaults:\n  timezone: Asia/Tokyo\n  incidents: {attribution_window_hours: 6}\n" + (
        "teams:\n  a:\n    channel: C01\n    repos: [o/a]\n  b:\n    channel: C02\n    repos: [o/b]\n"
        "    incidents: {github_label: sev}\n"
    )
    config = parse_teams_yaml(text)
    assert config.teams["a"].timezone == "Asia/Tokyo"
    assert config.teams["b"].incidents.attribution_window_hours == 6
    assert config.teams["b"].incidents.github_label == "sev"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("threshold_hours: 8", "threshold_hours: -1"), "teams.yml:18: teams.team-a.reviews.threshold_hours"),
        (("timezone: Europe/Berlin", "timezone: Mars/Base"), "teams.yml:9: teams.team-a.timezone: unknown time zone"),
        (
            ("    leads: [U01AAAAAAA]", "    leads: [U01AAAAAAA]\n    colour: red"),
            "teams.yml:16: teams.team-a.colour: unknown key",
        ),
        (
            ("channel: C0123ABCD", "channel: general"),
            "teams.yml:8: teams.team-a.channel: 'general' is not a Slack channel id",
        ),
        (("repos: [acme/api, acme/web]", "repos: []"), "teams.yml:10: teams.team-a.repos"),
        (("    channel: C0123ABCD\n", ""), "teams.yml:6: teams.team-a.channel: required key is missing"),
        (('environments: "^(production|prod)$"', 'environments: "(prod"'), "not a valid regular expression"),
        (("day: monday", "day: someday"), "unknown day 'someday'"),
        (('working_hours: "09:00-17:00"', 'working_hours: "17:00-09:00"'), "the start must be before the end"),
        (("profile: dora-2023", "profile: dora-1999"), "unknown profile 'dora-1999'"),
        (("anonymity_threshold: 5", "anonymity_threshold: 2"), "teams.yml:3: defaults.anonymity_threshold"),
    ],
)
def test_errors_name_line_and_field(change: tuple[str, str], expected: str) -> None:
    text = DESIGN_EXAMPLE.replace(*change)
    assert text != DESIGN_EXAMPLE
    with pytest.raises(TeamsConfigError) as info:
        parse_teams_yaml(text)
    assert expected in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    text = DESIGN_EXAMPLE.replace("timezone: Europe/Berlin", "timezone: Nowhere").replace(
        "threshold_hours: 8", "threshold_hours: zero"
    )
    with pytest.raises(TeamsConfigError) as info:
        parse_teams_yaml(text)
    assert len(info.value.problems) == 2


def test_duplicate_keys_channels_and_people_are_errors() -> None:
    dup_key = "teams:\n  a:\n    channel: C01\n    channel: C02\n    repos: [o/a]\n"
    with pytest.raises(TeamsConfigError, match=r"teams.yml:4: teams.a.channel: duplicate key"):
        parse_teams_yaml(dup_key)
    dup_channel = "teams:\n  a:\n    channel: C01\n    repos: [o/a]\n  b:\n    channel: C01\n    repos: [o/b]\n"
    with pytest.raises(TeamsConfigError, match=r"already the channel of a"):
        parse_teams_yaml(dup_channel)
    dup_person = "teams:\n  a:\n    channel: C01\n    repos: [o/a]\npeople:\n  - {slack: U01A}\n  - {slack: U01A}\n"
    with pytest.raises(TeamsConfigError, match=r"listed twice"):
        parse_teams_yaml(dup_person)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("teams: [a, b", "not valid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("teams:\n  a: 3\n", "teams.yml:2: teams.a: Input should be a valid dictionary"),
    ],
)
def test_broken_files_get_a_clear_message(text: str, expected: str) -> None:
    with pytest.raises(TeamsConfigError, match=expected):
        parse_teams_yaml(text)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TeamsConfigError, match="file not found"):
        load_teams_file(tmp_path / "nope.yml")
