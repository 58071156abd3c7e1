"""``/dora TEAM explain METRIC``: the deployments, changes and incidents behind one number (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.errors import UserFacingError
from bot.metrics.compute import Analysis, DeploymentFact, format_duration, is_rework
from bot.metrics.report import ExplainLine, Explanation, Figures

METRIC_ALIASES = {
    "deployment-frequency": ("deployment-frequency", "df", "deployments", "frequency", "deploys"),
    "lead-time": ("lead-time", "lt", "lead-time-for-changes", "leadtime", "lead"),
    "change-failure-rate": ("change-failure-rate", "cfr", "failure-rate", "failures", "failed"),
    "recovery-time": ("recovery-time", "recovery", "mttr", "fdrt", "failed-deployment-recovery-time"),
    "time-to-restore": ("time-to-restore", "ttr", "restore", "incidents", "time-to-restore-service"),
    "rework-rate": ("rework-rate", "rework"),
}
LIMIT = 25


def metric_name(text: str) -> str:
    """The canonical metric for a user's word; ``UserFacingError`` listing the valid ones."""
    word = re.sub(r"[\s_]+", "-", text.strip().lower())
    for name, aliases in METRIC_ALIASES.items():
        if word in aliases:
            return name
    valid = ", ".join(f"`{m}`" for m in METRIC_ALIASES)
    raise UserFacingError(f"I can explain {valid}; `{text}` is not one of them.")


class _Context:
    """What every explainer needs: the analysis, the window's figures, and the team time zone."""

    def __init__(self, analysis: Analysis, figures: Figures):
        self.analysis, self.figures, self.window = analysis, figures, figures.window
        self.tz = ZoneInfo(figures.window.timezone)
        self.deployed = [d for d in analysis.deployments if self.window.contains(d.finished_at)]

    def when(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%b %-d %H:%M")

    @property
    def span(self) -> str:
        return f"{self.when(self.window.start)} – {self.when(self.window.end)}"

    def deployment(self, d: DeploymentFact) -> str:
        ext = d.ext_id if len(d.ext_id) <= 24 else d.ext_id[:21] + "…"
        return f"{self.when(d.finished_at)}  {d.repo} {ext}  {(d.sha or '')[:7]}  {self.shipped(d)}"

    def shipped(self, d: DeploymentFact) -> str:
        if d.uid in self.analysis.change_sets.baselines:
            return "baseline (first deployment)"
        changes = self.analysis.change_sets.by_deployment.get(d.uid, [])
        named = [f"#{c.number}" for c in changes if c.kind == "pr"] + [
            (c.sha or "")[:7] for c in changes if c.kind == "push"
        ]
        if not named:
            return "no new changes"
        return "PRs " + " ".join(named[:6]) + (" …" if len(named) > 6 else "")


def _rate(rate: float | None) -> str:
    return "no data" if rate is None else f"{rate * 100:.0f} %"


def _frequency(ctx: _Context) -> tuple[str, list[ExplainLine]]:
    f = ctx.figures.frequency
    per_week = f", {f.per_week:.1f} / week" if f.per_week is not None else ""
    headline = (
        f"Deployment frequency: {f.deployments} production deployments on {f.deploy_days} day(s){per_week} ({ctx.span})"
    )
    return headline, [ExplainLine(ctx.deployment(d), url=d.url) for d in reversed(ctx.deployed)]


def _lead_time(ctx: _Context) -> tuple[str, list[ExplainLine]]:
    lt = ctx.figures.lead_time
    dropped = f"; {lt.excluded_negative} dropped (negative)" if lt.excluded_negative else ""
    headline = (
        f"Lead time for changes: median {format_duration(lt.median_s)}, p90 {format_duration(lt.p90_s)} "
        f"over {lt.changes} change(s) deployed {ctx.span}{dropped}"
    )
    leads = sorted(
        (lead for lead in ctx.analysis.leads if ctx.window.contains(lead.deployment.finished_at)),
        key=lambda lead: -lead.lead_s,
    )
    lines = []
    for lead in leads:
        c = lead.change
        what = f"#{c.number} {c.title}" if c.kind == "pr" else f"push {(c.sha or '')[:7]} {c.title}"
        if lead.lead_s < 0:
            lines.append(ExplainLine(f"{c.repo} {what[:80]}: negative lead time, dropped", ok=False, url=c.url))
            continue
        stages = " · ".join(
            f"{key.removesuffix('_s')} {format_duration(v)}" for key, v in lead.stages.items() if v is not None
        )
        lines.append(ExplainLine(f"{c.repo} {what[:80]}: {format_duration(lead.lead_s)} ({stages})", url=c.url))
    return headline, lines


def _change_failure_rate(ctx: _Context) -> tuple[str, list[ExplainLine]]:
    cfr = ctx.figures.change_failure_rate
    headline = (
        f"Change failure rate {_rate(cfr.rate)} = {cfr.failed} failed of {cfr.deployments} "
        f"production deployments ({ctx.span})"
    )
    lines = []
    for d in reversed(ctx.deployed):
        failure = ctx.analysis.failures.get(d.uid)
        why = f"  failed: {'; '.join(failure.reasons)}" if failure else ""
        lines.append(ExplainLine(ctx.deployment(d) + why, ok=failure is None, url=d.url))
    return headline, lines


def _rework_rate(ctx: _Context) -> tuple[str, list[ExplainLine]]:
    rw = ctx.figures.rework_rate
    headline = (
        f"Rework rate {_rate(rw.rate)} = {rw.reworked} of {rw.deployments} deployments shipped "
        f"a revert, hotfix or incident fix ({ctx.span})"
    )
    lines = []
    for d in reversed(ctx.deployed):
        rework = [
            c
            for c in ctx.analysis.change_sets.by_deployment.get(d.uid, [])
            if is_rework(c, ctx.analysis.incidents, ctx.analysis.changes)
        ]
        names = ", ".join(f"#{c.number}" if c.kind == "pr" else (c.sha or "")[:7] for c in rework)
        lines.append(ExplainLine(ctx.deployment(d) + (f"  rework: {names}" if names else ""), ok=not rework, url=d.url))
    return headline, lines


def _recovery_time(ctx: _Context) -> tuple[str, list[ExplainLine]]:
    rec = ctx.figures.recovery_time
    headline = (
        f"Failed deployment recovery time: median {format_duration(rec.median_s)} over {rec.recovered} "
        f"recovered, {rec.open} still open ({ctx.span})"
    )
    failures = sorted(
        (f for f in ctx.analysis.failures.values() if ctx.window.contains(f.deployment.finished_at)),
        key=lambda f: f.deployment.finished_at,
        reverse=True,
    )
    lines = []
    for failure in failures:
        d = failure.deployment
        if failure.recovered_at is not None:
            state = f"recovered in {format_duration(failure.recovery_s)} ({failure.recovered_by})"
        else:
            state = f"open for {format_duration((ctx.window.end - d.finished_at).total_seconds())}"
        text = f"{ctx.when(d.finished_at)}  {d.repo} {d.ext_id}: {state}; {failure.reasons[0]}"
        lines.append(ExplainLine(text, ok=failure.recovered_at is not None, url=d.url))
    return headline, lines


def _time_to_restore(ctx: _Context) -> tuple[str, list[ExplainLine]]:
    ttr = ctx.figures.time_to_restore
    headline = (
        f"Time to restore service: median {format_duration(ttr.median_s)} over {ttr.resolved} resolved "
        f"incident(s), {ttr.open} open ({ctx.span})"
    )
    incidents = sorted(
        (i for i in ctx.analysis.incidents if ctx.window.contains(i.opened_at)), key=lambda i: i.opened_at, reverse=True
    )
    lines = []
    for i in incidents:
        if i.resolved_at is None:
            state = f"open for {format_duration((ctx.window.end - i.opened_at).total_seconds())}"
        else:
            state = f"resolved in {format_duration((i.resolved_at - i.opened_at).total_seconds())}"
        text = f"{ctx.when(i.opened_at)}  {i.label} {i.title[:80]}: {state}"
        lines.append(ExplainLine(text, ok=i.resolved_at is not None, url=i.url))
    return headline, lines


EXPLAINERS: dict[str, Callable[[_Context], tuple[str, list[ExplainLine]]]] = {
    "deployment-frequency": _frequency,
    "lead-time": _lead_time,
    "change-failure-rate": _change_failure_rate,
    "recovery-time": _recovery_time,
    "time-to-restore": _time_to_restore,
    "rework-rate": _rework_rate,
}


def explain(metric: str, analysis: Analysis, figures: Figures) -> Explanation:
    """Explain one canonical metric of one window's figures."""
    headline, lines = EXPLAINERS[metric](_Context(analysis, figures))
    return Explanation(metric=metric, headline=headline, lines=lines[:LIMIT], more=max(0, len(lines) - LIMIT))
