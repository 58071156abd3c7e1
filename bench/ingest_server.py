"""``python -m bench.ingest_server MODE DATABASE_URL PORT``: the webhook server the ingest benchmark loads.

One process, waitress with 16 threads as ``sei-bot serve``, no background services (the receive
path alone). MODE ``group`` is the shipped group-commit writer; MODE ``direct`` commits once per
request, the naive baseline. Prints ``ready`` once it listens.
"""

from __future__ import annotations

import logging
import sys

import waitress

from bot.db import get_engine, session_scope
from bot.ingest.log import DirectWriter, use_writer
from bot.migrate import upgrade
from bot.server import settle_heap
from bot.settings import Settings
from bot.teams.config import parse_teams_yaml
from bot.teams.service import apply_config
from bot.web import create_wsgi_app

SECRET = "bench-secret"
TEAMS = """
teams:
  bench:
    name: Bench
    channel: C0BENCHAA
    repos: [Codertocat/Hello-World, github-slack/app, octo-org/octo-repo]
"""


def main(mode: str, database_url: str, port: int) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Under a deliberate overload waitress warns about its queue on every request; that is the test.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    upgrade(database_url)
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        apply_config(session=session, config=parse_teams_yaml(TEAMS))
    if mode == "direct":
        use_writer(engine, DirectWriter(engine))
    settings = Settings(database_url=database_url, github_webhook_secret=SECRET)
    app = create_wsgi_app(settings, engine=engine)
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=16, ident="sei-bot", channel_timeout=30)
    settle_heap()  # as `sei-bot serve` does
    print("ready", flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
