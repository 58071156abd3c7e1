"""The progress display of a backfill, on stderr: counts per resource and the GitHub rate-limit budget.

On a terminal it is one line redrawn in place, with a bar for how much of the time window the current
listing has covered; elsewhere (CI, logs, ``--no-progress``) it prints a plain line now and then.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from bot.providers.github import RateLimit

RESOURCES = ("pulls", "commits", "reviews", "comments", "deployments", "runs", "incidents", "changes")
BAR = 12


class SyncProgress:
    """Counts, position and budget of a running backfill, drawn live or logged every ``interval`` seconds."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        interval: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        width: int | None = None,
    ):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self.clock = clock
        self.width = width or shutil.get_terminal_size((120, 20)).columns
        self.counts: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()
        self.repo = ""
        self.label = ""
        self.phase = ""
        self.fraction: float | None = None
        self.rate_limit: RateLimit | None = None
        self.not_modified = 0
        self.wait: tuple[float, str] | None = None
        self._last_print = -1e9
        self._drawn = False

    # --- what the backfill reports --------------------------------------------------------------

    def start_repo(self, repo: str, index: int, total: int) -> None:
        """A new repository begins."""
        self.repo, self.label = repo, f"[{index}/{total}] {repo}"
        self.counts = Counter()
        self.phase, self.fraction = "", None
        self._emit(force=True)

    def start_phase(self, phase: str) -> None:
        """A new listing (pulls, deployments, runs, incidents, changes) begins."""
        self.phase, self.fraction = phase, None
        self._emit(force=not self.live)

    def count(self, resource: str, n: int = 1) -> None:
        """``n`` more items of ``resource`` were stored."""
        if n:
            self.counts[resource] += n
            self.totals[resource] += n
        self._emit()

    def position(self, now: datetime, since: datetime, top: datetime | None) -> None:
        """The listing reached ``now`` (a timestamp) on its way from ``top`` down to ``since``."""
        if top is None or top <= since:
            self.fraction = None
        else:
            self.fraction = max(0.0, min(1.0, (top - now) / (top - since)))
        self._emit()

    def budget(self, rate_limit: RateLimit | None, not_modified: int) -> None:
        """The rate-limit budget as of the last answer and how many answers were free 304s."""
        if rate_limit is not None:
            self.rate_limit = rate_limit
        self.not_modified = not_modified

    def waiting(self, seconds_left: float, reason: str) -> None:
        """The client is waiting (``0`` when the wait is over): a countdown live, one line otherwise."""
        starting = self.wait is None and seconds_left > 0
        self.wait = (seconds_left, reason) if seconds_left > 0 else None
        if self.live:
            self._emit(force=True)
        elif starting and seconds_left >= 1:
            self._print(f"{self.repo}: waiting {_duration(seconds_left)} ({reason})")

    def finish_repo(self) -> None:
        """The repository is done: a final line with its counts."""
        self.phase, self.fraction, self.wait = "", None, None
        self._clear()
        self._print(f"{self.label}: done · {self._counts(self.counts)} · {self._budget()}".rstrip(" ·"))

    def close(self) -> None:
        """Leave the terminal clean."""
        self._clear()

    # --- drawing --------------------------------------------------------------------------------

    def line(self) -> str:
        """The status line as it would be drawn now."""
        parts = [self.label]
        if self.phase:
            bar = ""
            if self.fraction is not None:
                filled = round(self.fraction * BAR)
                bar = f" [{'#' * filled}{'-' * (BAR - filled)}] {round(self.fraction * 100):>3}%"
            parts.append(f"{self.phase}{bar}")
        # Most telling first: a narrow terminal cuts the end of the line, so the counts go last.
        if self.wait is not None:
            parts.append(f"waiting {_duration(self.wait[0])}: {self.wait[1]}")
        budget = self._budget()
        if budget:
            parts.append(budget)
        counts = self._counts(self.counts)
        if counts:
            parts.append(counts)
        return " · ".join(parts)

    @staticmethod
    def _counts(counts: Counter[str]) -> str:
        ordered = [r for r in RESOURCES if counts.get(r)] + sorted(r for r in counts if r not in RESOURCES)
        return ", ".join(f"{r} {counts[r]}" for r in ordered)

    def _budget(self) -> str:
        rate = self.rate_limit
        if rate is None:
            return f"{self.not_modified} cached" if self.not_modified else ""
        text = f"API {rate.remaining}/{rate.limit} left, resets {rate.reset_at.strftime('%H:%M')} UTC"
        return text + (f", {self.not_modified} cached" if self.not_modified else "")

    def _emit(self, *, force: bool = False) -> None:
        now = self.clock()
        if self.live:
            if force or now - self._last_print >= 0.1:
                self._last_print = now
                self.stream.write("\r\x1b[2K" + self.line()[: self.width - 1])
                self.stream.flush()
                self._drawn = True
        elif force or now - self._last_print >= self.interval:
            self._print(self.line())

    def _print(self, text: str) -> None:
        self._clear()
        self._last_print = self.clock()
        self.stream.write(text + "\n")
        self.stream.flush()

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._drawn = False


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
