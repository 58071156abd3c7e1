"""Background services of a process: the scheduler, the outbox sender, and whatever else registers here.

``sei-bot worker`` and ``sei-bot serve`` (without ``--no-scheduler``) call ``start_all``. Each entry of
``BACKGROUND_STARTERS`` names a function ``(settings, engine) -> list[threading.Thread]`` that starts
one service and returns its threads; it calls ``on_stop(callable)`` with how to stop it gracefully.
Another service (the ingest normaliser) adds its starter's dotted path to ``BACKGROUND_STARTERS``.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from bot.settings import Settings

log = logging.getLogger(__name__)

BACKGROUND_STARTERS: tuple[str, ...] = (
    "bot.scheduler.service:start_background_scheduler",
    "bot.outbox.sender:start_sender",
    "bot.ingest.worker:start_normaliser",
)

_stoppers: list[Callable[[float], None]] = []
_stoppers_lock = threading.Lock()
_atexit_registered = False


def on_stop(stop: Callable[[float], None]) -> None:
    """Remember how to stop a started service (called with a timeout in seconds) at ``stop_all``."""
    global _atexit_registered
    with _stoppers_lock:
        _stoppers.append(stop)
        if not _atexit_registered:
            atexit.register(stop_all)
            _atexit_registered = True


def stop_all(timeout: float = 10.0) -> None:
    """Stop every started service, newest first: calls in flight finish and are recorded."""
    with _stoppers_lock:
        stoppers = list(reversed(_stoppers))
        _stoppers.clear()
    for stop in stoppers:
        try:
            stop(timeout)
        except Exception:  # one service failing to stop must not keep the others running
            log.exception("a background service did not stop cleanly")


def start_all(settings: Settings, engine: Engine) -> list[threading.Thread]:
    """Start every background service this build has (scheduler, outbox sender, normaliser)."""
    threads: list[threading.Thread] = []
    for path in BACKGROUND_STARTERS:
        module_name, _, attr = path.partition(":")
        starter: Callable[[Settings, Engine], list[threading.Thread]] = getattr(
            importlib.import_module(module_name), attr
        )
        threads.extend(starter(settings, engine))
    return threads
