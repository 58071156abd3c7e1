"""At most one ``chat.postMessage`` per channel per second from this process (SLACK.md "Web API").

Slack allows short bursts but answers 429 beyond about one message a second in a channel; several
people running ``/dora`` in one channel at once should queue, not be refused. Scheduled messages go
through the outbox, whose sender paces across processes; this covers immediate replies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ChannelPacer:
    """Hands out send times at least ``interval`` seconds apart per channel, and waits for them."""

    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = interval
        self._clock, self._sleep = clock, sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, channel: str) -> float:
        """Book the next free slot in ``channel``; returns how long to wait for it (seconds)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(channel, now))
            self._next[channel] = slot + self.interval
            if len(self._next) > 10_000:  # forget channels whose slots are long past
                self._next = {c: t for c, t in self._next.items() if t > now}
            return slot - now

    def wait(self, channel: str) -> None:
        """Block until this caller may post in ``channel``."""
        delay = self.reserve(channel)
        if delay > 0:
            self._sleep(delay)


# 10 % over a second, so that network jitter cannot bring two posts closer than a second at Slack.
POST_PACER = ChannelPacer(interval=1.1)
