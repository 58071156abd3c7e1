"""Performance-tier profiles as data: the bands of each DORA definition set.

Durations compare with ``<`` and rates with ``<=`` (DESIGN.md §3). A profile lists bands from the
best tier down; a value outside every band is the profile's ``worst`` tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class FrequencyBands:
    """Deployment-frequency tiers from *deployment days* (DESIGN.md §3).

    ``elite_days_per_week``: median distinct deploy days per complete week for the top tier;
    ``high_days_per_week``: the same for the second tier; ``medium_days_per_month``: median distinct
    deploy days per complete month for the third tier; anything less is the last tier.
    """

    elite_days_per_week: float = 5
    high_days_per_week: float = 1
    medium_days_per_month: float = 1


@dataclass(frozen=True)
class Profile:
    """A named set of tier bands: ``[(upper bound, tier), ...]`` best first."""

    key: str
    title: str
    lead_time: tuple[tuple[float, str], ...]
    change_failure_rate: tuple[tuple[float, str], ...]
    recovery_time: tuple[tuple[float, str], ...]
    frequency: FrequencyBands = field(default_factory=FrequencyBands)
    tiers: tuple[str, ...] = ("elite", "high", "medium", "low")

    @property
    def worst(self) -> str:
        """The tier given to values beyond every band."""
        return self.tiers[-1]

    def duration_tier(self, bands: tuple[tuple[float, str], ...], seconds: float | None) -> str | None:
        """Tier of a duration (``<`` each bound); ``None`` for no data."""
        if seconds is None:
            return None
        for bound, tier in bands:
            if seconds < bound:
                return tier
        return self.worst

    def rate_tier(self, rate: float | None) -> str | None:
        """Tier of a change failure rate (``<=`` each bound); ``None`` for no data."""
        if rate is None:
            return None
        for bound, tier in self.change_failure_rate:
            if rate <= bound + 1e-12:
                return tier
        return self.worst

    def lead_time_tier(self, seconds: float | None) -> str | None:
        """Tier of a median lead time for changes."""
        return self.duration_tier(self.lead_time, seconds)

    def recovery_tier(self, seconds: float | None) -> str | None:
        """Tier of a median failed-deployment recovery time."""
        return self.duration_tier(self.recovery_time, seconds)


DORA_2023 = Profile(
    key="dora-2023",
    title="DORA 2023",
    lead_time=((DAY, "elite"), (7 * DAY, "high"), (30 * DAY, "medium")),
    change_failure_rate=((0.05, "elite"), (0.10, "high"), (0.15, "medium")),
    recovery_time=((HOUR, "elite"), (DAY, "high"), (7 * DAY, "medium")),
)

# Accelerate State of DevOps 2021: lead time elite < 1 h, high < 1 week, medium < 6 months;
# change failure rate elite 0–15 %, then 16–30 % for high and medium alike; restore < 1 h / < 1 day /
# < 1 week (2021 put medium at "between one day and one week").
DORA_2021 = Profile(
    key="dora-2021",
    title="DORA 2021",
    lead_time=((HOUR, "elite"), (7 * DAY, "high"), (182 * DAY, "medium")),
    change_failure_rate=((0.15, "elite"), (0.30, "high")),
    recovery_time=((HOUR, "elite"), (DAY, "high"), (7 * DAY, "medium")),
    frequency=FrequencyBands(elite_days_per_week=5, high_days_per_week=1, medium_days_per_month=1),
)

# Four Keys' dashboard buckets: lead time and restore "one day" / "one week" / "one month",
# change failure rate "0-15 %" / "16-45 %" / "46-60 %", and deployment frequency "daily" when the
# median week has 3 or more deploy days.
FOURKEYS = Profile(
    key="fourkeys",
    title="Four Keys",
    lead_time=((DAY, "elite"), (7 * DAY, "high"), (30 * DAY, "medium")),
    change_failure_rate=((0.15, "elite"), (0.45, "medium")),
    recovery_time=((DAY, "elite"), (7 * DAY, "high"), (30 * DAY, "medium")),
    frequency=FrequencyBands(elite_days_per_week=3, high_days_per_week=1, medium_days_per_month=1),
)

PROFILES: dict[str, Profile] = {p.key: p for p in (DORA_2023, DORA_2021, FOURKEYS)}
DEFAULT_PROFILE = DORA_2023.key


def get_profile(key: str | None) -> Profile:
    """The profile named ``key`` (the default when ``None``); ``KeyError`` if unknown."""
    return PROFILES[key or DEFAULT_PROFILE]
