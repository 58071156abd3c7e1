"""Background services of a process: each returns the threads it started."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from bot.settings import Settings

log = logging.getLogger(__name__)


def start_all(settings: Settings, engine: Engine) -> list[threading.Thread]:
    """Start every background service this build has (scheduler, outbox sender, normaliser)."""
    from bot.ingest.worker import start_normaliser

    threads: list[threading.Thread] = []
    threads.append(start_normaliser(settings, engine))
    return threads
