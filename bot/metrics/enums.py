"""Ids of the ``/dora`` surface: actions and blocks, shared by the builders and the listeners."""

from __future__ import annotations

from enum import StrEnum


class DoraAction(StrEnum):
    """Buttons under a ``/dora`` report; each shows the records behind one number."""

    EXPLAIN_DEPLOYMENT_FREQUENCY = "dora-explain-deployment-frequency"
    EXPLAIN_LEAD_TIME = "dora-explain-lead-time"
    EXPLAIN_CHANGE_FAILURE_RATE = "dora-explain-change-failure-rate"
    EXPLAIN_RECOVERY_TIME = "dora-explain-recovery-time"

    @classmethod
    def explain(cls, metric: str) -> DoraAction:
        """The explain button of a metric (``lead-time`` → ``dora-explain-lead-time``)."""
        return cls(f"dora-explain-{metric}")


class DoraBlock(StrEnum):
    """Block ids of the report message."""

    HEADER = "dora-header"
    PERIOD = "dora-period"
    METRIC = "dora-metric"  # suffixed with the metric name
    SECONDARY = "dora-secondary"
    DRAG = "dora-drag"
    HINT = "dora-hint"
    EXPLAIN = "dora-explain"
