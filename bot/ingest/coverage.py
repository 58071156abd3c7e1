"""Which time ranges of a newest-first listing are already stored (pure logic behind resumable backfills).

A listing that GitHub sorts newest first (pull requests by ``updated_at``, deployments and runs by
``created_at``) is walked from the top; after each stored item the walk knows that every item between
that item and the top of the walk is stored. Those spans are kept as half-open ``(lo, hi]`` ranges, so
an item whose timestamp equals ``lo`` (a tie with the last one stored) is fetched again rather than
skipped. A later walk skips covered items and stops as soon as everything down to ``since`` is covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

EPSILON = timedelta(microseconds=1)


@dataclass
class Coverage:
    """Disjoint ``(lo, hi]`` spans of a listing's timestamps that are stored, oldest first."""

    spans: list[tuple[datetime, datetime]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Coverage:
        """Read ``{"spans": [[lo, hi], ...]}`` (ISO 8601); anything else is an empty coverage."""
        spans = []
        for pair in (data or {}).get("spans") or []:
            try:
                lo, hi = datetime.fromisoformat(pair[0]), datetime.fromisoformat(pair[1])
            except (TypeError, ValueError, IndexError):
                continue
            if lo.tzinfo is not None and hi.tzinfo is not None and lo < hi:
                spans.append((lo, hi))
        coverage = cls()
        for lo, hi in spans:
            coverage.add(lo, hi)
        return coverage

    def to_json(self) -> dict[str, Any]:
        """The JSON kept in the cursor table."""
        return {"spans": [[lo.isoformat(), hi.isoformat()] for lo, hi in self.spans]}

    def add(self, lo: datetime, hi: datetime) -> None:
        """Mark ``(lo, hi]`` as stored, merging it with the spans it overlaps or touches."""
        if hi <= lo:
            return
        merged: list[tuple[datetime, datetime]] = []
        for a, b in self.spans:
            if b < lo or a > hi:
                merged.append((a, b))
            else:
                lo, hi = min(lo, a), max(hi, b)
        merged.append((lo, hi))
        self.spans = sorted(merged)

    def span_of(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The span containing ``moment``, if any."""
        return next(((lo, hi) for lo, hi in self.spans if lo < moment <= hi), None)

    def covers(self, moment: datetime) -> bool:
        """True when an item with this timestamp is already stored."""
        return self.span_of(moment) is not None

    def covers_down_to(self, moment: datetime, floor: datetime) -> bool:
        """True when everything from ``moment`` down to ``floor`` (inclusive) is stored."""
        span = self.span_of(moment)
        return span is not None and span[0] < floor


class Walk:
    """One newest-first walk of a listing: call ``stored`` after each item is committed, ``finished`` at the end.

    An item that may still change (a deployment without a final status, a run in progress) is stored
    but left out of the coverage, so the next run fetches it again.
    """

    def __init__(self, coverage: Coverage, since: datetime):
        self.coverage = coverage
        self.since = since
        self.top: datetime | None = None  # everything from the walk's start down to the last item is handled
        self.lowest: datetime | None = None

    def should_stop(self, moment: datetime) -> bool:
        """True when nothing at or below ``moment`` needs fetching."""
        return moment < self.since or self.coverage.covers_down_to(moment, self.since)

    def skip(self, moment: datetime) -> bool:
        """True when the item is already stored; the walk goes on past it."""
        self._see(moment)
        if self.coverage.covers(moment):
            self._extend(moment)
            return True
        return False

    def stored(self, moment: datetime, *, settled: bool = True) -> None:
        """The item with this timestamp is committed; ``settled=False`` if it may still change."""
        self._see(moment)
        self._extend(moment)
        if not settled:
            self.top = moment - EPSILON

    def finished(self) -> None:
        """The walk reached ``since`` (or the oldest item it stored, when it went further) or the listing's end."""
        if self.top is not None:
            low = min(self.since, self.lowest or self.since)
            self.coverage.add(low - EPSILON, self.top)

    def _see(self, moment: datetime) -> None:
        if self.top is None:
            self.top = moment
        self.lowest = moment if self.lowest is None else min(self.lowest, moment)

    def _extend(self, moment: datetime) -> None:
        if self.top is not None:
            self.coverage.add(moment, self.top)
