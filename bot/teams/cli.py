"""``sei-bot teams apply`` and ``sei-bot teams list``."""

from __future__ import annotations

import argparse

from bot.cli import CommandError
from bot.db import get_engine, session_scope
from bot.settings import Settings
from bot.teams.config import TeamsConfigError, load_teams_file
from bot.teams.service import apply_config, list_teams


def cmd_apply(args: argparse.Namespace, settings: Settings) -> int:
    """Validate a teams.yml and load it into the database."""
    path = args.file or settings.sei_teams_file
    try:
        config = load_teams_file(path)
    except TeamsConfigError as exc:
        raise CommandError(f"{len(exc.problems)} problem(s) in {path}:\n" + str(exc)) from exc
    with session_scope(get_engine(settings.database_url)) as session:
        counts = apply_config(session=session, config=config)
    print(f"Applied {path}: {counts['teams']} team(s), {counts['people']} people, {counts['removed']} removed.")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Show the configured teams, their channel, repositories and members."""
    with session_scope(get_engine(settings.database_url)) as session:
        teams = list_teams(session=session)
    if not teams:
        print("No teams configured yet. Run `sei-bot teams apply teams.yml`.")
        return 0
    width = max(len(t.id) for t in teams)
    for t in teams:
        print(
            f"{t.id:<{width}}  {t.name} · channel {t.channel} · {t.timezone} · profile {t.profile}\n"
            f"{'':<{width}}  repos: {', '.join(t.repos)} · {len(t.members)} member(s), leads: "
            f"{', '.join(t.leads) or '-'}"
        )
    return 0
