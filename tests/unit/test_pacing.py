"""Posts to one channel are spaced a second apart; other channels are not held up."""

from __future__ import annotations

import threading

from bot.handlers.pacing import ChannelPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_posts_in_one_channel_queue_one_second_apart() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(clock=clock, sleep=clock.sleep)
    assert [pacer.reserve("C1") for _ in range(3)] == [0.0, 1.0, 2.0]
    assert pacer.reserve("C2") == 0.0
    clock.now += 5
    assert pacer.reserve("C1") == 0.0


def test_concurrent_callers_get_distinct_slots() -> None:
    clock = FakeClock()
    pacer = ChannelPacer(interval=0.5, clock=clock, sleep=clock.sleep)
    delays: list[float] = []
    threads = [threading.Thread(target=lambda: delays.append(pacer.reserve("C1"))) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delays) == [i * 0.5 for i in range(20)]
