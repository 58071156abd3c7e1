"""The rules of DESIGN.md §3 as pure functions over plain facts: no database, no Slack.

``service.py`` loads facts for a team and calls ``compute_report_figures``; every rule is testable
here on hand-built histories. Conventions:

- Windows are half-open ``[start, end)``; facts after the report's ``as_of`` are never passed in.
- A change *lands* when it reaches the production branch (PR merged, commit pushed). A deployment's
  *position* is the landing time of the commit it ships; it contains every change that landed after
  the highest position shipped before it, up to its own (so batched, squash and rebase merges are
  handled, a redeploy of the same SHA or a rollback ships nothing new, and the first deployment of a
  repository is a baseline that ships nothing measurable).
- Medians are interpolated like ``statistics.median``; p90 interpolates linearly between ranks.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from bot.metrics.periods import Window
from bot.metrics.profiles import Profile
from bot.metrics.report import (
    ChangeFailure,
    Figures,
    Frequency,
    LeadTime,
    Recovery,
    Restore,
    Rework,
    WeekPoint,
)

# --- facts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentFact:
    """A successful production deployment (records of one pipeline run already merged)."""

    uid: str
    ext_id: str
    repo: str
    sha: str | None
    finished_at: datetime
    started_at: datetime | None = None
    is_rollback: bool = False
    environment: str = "production"
    url: str | None = None


@dataclass(frozen=True)
class ChangeFact:
    """A change: a merged pull request, or one commit pushed straight to the production branch."""

    key: str  # "pr:acme/api#12" or "push:acme/api@<sha>"
    repo: str
    kind: str  # "pr" | "push"
    landed_at: datetime  # merged_at, or push time
    first_commit_at: datetime | None
    sha: str | None = None  # merge/squash commit, or the pushed commit
    number: int | None = None
    title: str = ""
    body: str = ""
    head_ref: str | None = None
    labels: tuple[str, ...] = ()
    ready_at: datetime | None = None
    first_review_at: datetime | None = None
    commit_shas: frozenset[str] = frozenset()  # every sha known to belong to the change
    url: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class IncidentFact:
    """An incident of the team (by repository or service)."""

    uid: str
    opened_at: datetime
    resolved_at: datetime | None = None
    repo: str | None = None
    service: str | None = None
    title: str = ""
    text: str = ""
    url: str | None = None
    deployment_ref: str | None = None
    root_cause_sha: str | None = None

    @property
    def label(self) -> str:
        """A short name for people: ``#900`` for GitHub issues, else the source id."""
        _source, _, ident = self.uid.partition(":")
        if "#" in ident:
            return "#" + ident.rsplit("#", 1)[1]
        return ident or self.uid


@dataclass(frozen=True)
class RepoHistory:
    """What is known of a repository before the loaded range, and where SHAs landed."""

    repo: str
    prior_deployments: int = 0
    prior_max_position: datetime | None = None
    sha_positions: dict[str, datetime] = field(default_factory=dict)


# --- small statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median_or_none(values: Sequence[float]) -> float | None:
    """``statistics.median`` or ``None`` for no values."""
    return float(median(values)) if values else None


# --- revert / hotfix recognition ---------------------------------------------------------------

_REVERT_TITLE = re.compile(r'^\s*revert\s*"(?P<title>.*)"\s*$', re.IGNORECASE | re.DOTALL)
_REVERT_BRANCH = re.compile(r"^revert-(?P<number>\d+)-", re.IGNORECASE)
_REVERTS_PR = re.compile(r"\breverts\s+(?:[\w.-]+/[\w.-]+)?#(?P<number>\d+)", re.IGNORECASE)
_REVERTS_COMMIT = re.compile(r"\bthis reverts commit\s+(?P<sha>[0-9a-f]{7,40})", re.IGNORECASE)
_HOTFIX = re.compile(r"\bhot[\s_-]?fix\b", re.IGNORECASE)
_SHA = re.compile(r"\b[0-9a-f]{7,40}\b", re.IGNORECASE)
_ROOT_CAUSE = re.compile(r"root[\s_-]?cause\s*:\s*(?P<sha>[0-9a-f]{7,40})\b", re.IGNORECASE)


def is_revert(change: ChangeFact) -> bool:
    """A PR or commit titled ``Revert "…"`` or from a ``revert-<n>-…`` branch."""
    return bool(_REVERT_TITLE.match(change.title) or (change.head_ref and _REVERT_BRANCH.match(change.head_ref)))


def is_hotfix(change: ChangeFact) -> bool:
    """A change labelled or titled hotfix (``hotfix``, ``hot-fix``, ``hot fix``)."""
    return bool(_HOTFIX.search(change.title) or any(_HOTFIX.search(label) for label in change.labels))


def _sha_match(candidate: str, shas: Iterable[str]) -> bool:
    candidate = candidate.lower()
    return len(candidate) >= 7 and any(s and s.lower().startswith(candidate) for s in shas)


def _pr_numbers_named(text: str, repo: str) -> set[int]:
    """PR numbers of ``repo`` named in text: ``#12`` (same repo), ``owner/repo#12`` or a PR URL."""
    numbers = {int(m.group(1)) for m in re.finditer(r"(?<![\w/])#(\d+)\b", text)}
    for m in re.finditer(r"([\w.-]+/[\w.-]+)#(\d+)\b", text):
        if m.group(1).lower() == repo.lower():
            numbers.add(int(m.group(2)))
    for m in re.finditer(r"/([\w.-]+/[\w.-]+)/pull/(\d+)\b", text):
        if m.group(1).lower() == repo.lower():
            numbers.add(int(m.group(2)))
    return numbers


def reverted_targets(change: ChangeFact, changes: Sequence[ChangeFact]) -> list[ChangeFact]:
    """The changes a revert undoes (by branch number, ``Reverts #n``, reverted SHA, or title)."""
    if not is_revert(change):
        return []
    text = f"{change.title}\n{change.body}"
    numbers: set[int] = set()
    if change.head_ref and (m := _REVERT_BRANCH.match(change.head_ref)):
        numbers.add(int(m.group("number")))
    numbers |= {int(m.group("number")) for m in _REVERTS_PR.finditer(text)}
    shas = [m.group("sha") for m in _REVERTS_COMMIT.finditer(text)]
    title = m.group("title") if (m := _REVERT_TITLE.match(change.title)) else None
    found = []
    for other in changes:
        if other.key == change.key or other.repo != change.repo or other.landed_at > change.landed_at:
            continue
        if (
            (other.number is not None and other.kind == "pr" and other.number in numbers)
            or any(_sha_match(s, other.commit_shas | {other.sha or ""}) for s in shas)
            or (title is not None and other.title.strip() == title.strip())
        ):
            found.append(other)
    return found


def hotfix_targets(change: ChangeFact, changes: Sequence[ChangeFact]) -> list[ChangeFact]:
    """The earlier changes a hotfix references by PR number or SHA."""
    if not is_hotfix(change):
        return []
    text = f"{change.title}\n{change.body}"
    numbers = _pr_numbers_named(text, change.repo)
    shas = [m.group(0) for m in _SHA.finditer(text)]
    return [
        other
        for other in changes
        if other.key != change.key
        and other.repo == change.repo
        and other.landed_at <= change.landed_at
        and (
            (other.kind == "pr" and other.number in numbers)
            or any(_sha_match(s, other.commit_shas | {other.sha or ""}) for s in shas)
        )
    ]


# --- change sets ---------------------------------------------------------------------------------


def deployment_order(deployments: Iterable[DeploymentFact]) -> list[DeploymentFact]:
    """Deployments in a total order that does not depend on arrival order."""
    return sorted(deployments, key=lambda d: (d.finished_at, d.started_at or d.finished_at, d.uid))


def position_of(deployment: DeploymentFact, history: RepoHistory) -> datetime:
    """When the commit a deployment ships landed; its start (or finish) when the SHA is unknown."""
    if deployment.sha:
        landed = history.sha_positions.get(deployment.sha)
        if landed is not None:
            return landed
    return deployment.started_at or deployment.finished_at


@dataclass(frozen=True)
class ChangeSets:
    """Which changes each deployment shipped, and the first deployment of each change."""

    by_deployment: dict[str, list[ChangeFact]]
    first_deployment: dict[str, DeploymentFact]  # change key -> deployment
    positions: dict[str, datetime]  # deployment uid -> position
    baselines: frozenset[str]  # uids of first-ever deployments of a repository


def assign_changes(
    deployments: Iterable[DeploymentFact],
    changes: Iterable[ChangeFact],
    histories: dict[str, RepoHistory],
) -> ChangeSets:
    """Give each change to the first deployment of its repository that contains it."""
    by_repo: dict[str, list[DeploymentFact]] = defaultdict(list)
    for d in deployments:
        by_repo[d.repo].append(d)
    changes_by_repo: dict[str, list[ChangeFact]] = defaultdict(list)
    for c in changes:
        changes_by_repo[c.repo].append(c)
    by_deployment: dict[str, list[ChangeFact]] = {}
    first: dict[str, DeploymentFact] = {}
    positions: dict[str, datetime] = {}
    baselines: set[str] = set()
    for repo, repo_deployments in by_repo.items():
        history = histories.get(repo) or RepoHistory(repo=repo)
        pending = sorted(changes_by_repo.get(repo, []), key=lambda c: (c.landed_at, c.key))
        shipped_up_to = history.prior_max_position
        index = 0
        # Changes that landed before anything shipped before the range are already deployed.
        if shipped_up_to is not None:
            while index < len(pending) and pending[index].landed_at <= shipped_up_to:
                index += 1
        seen_shas: dict[str, datetime] = {}
        for d in deployment_order(repo_deployments):
            pos = position_of(d, history)
            if d.sha and d.sha not in history.sha_positions and d.sha in seen_shas:
                pos = seen_shas[d.sha]  # a redeploy or rollback of a SHA deployed earlier in the range
            if d.is_rollback and shipped_up_to is not None:
                pos = min(pos, shipped_up_to)  # a rollback never ships anything new
            if d.sha:
                seen_shas.setdefault(d.sha, pos)
            positions[d.uid] = pos
            contained: list[ChangeFact] = []
            if shipped_up_to is None and history.prior_deployments == 0:
                baselines.add(d.uid)  # the first deployment of a repository: a baseline
                while index < len(pending) and pending[index].landed_at <= pos:
                    index += 1
                shipped_up_to = pos
            elif shipped_up_to is None or pos > shipped_up_to:
                while index < len(pending) and pending[index].landed_at <= pos:
                    contained.append(pending[index])
                    index += 1
                shipped_up_to = pos
            by_deployment[d.uid] = contained
            for c in contained:
                first[c.key] = d
    return ChangeSets(by_deployment, first, positions, frozenset(baselines))


# --- failures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """Why a deployment failed and when (if) it recovered."""

    deployment: DeploymentFact
    reasons: tuple[str, ...]
    recovered_at: datetime | None
    recovered_by: str | None
    incidents: tuple[IncidentFact, ...] = ()

    @property
    def recovery_s(self) -> float | None:
        """Seconds from the deployment's finish to recovery (never negative)."""
        if self.recovered_at is None:
            return None
        return max(0.0, (self.recovered_at - self.deployment.finished_at).total_seconds())


class _IncidentText:
    """What an incident's title and text name, read once and then checked against every deployment."""

    def __init__(self, incident: IncidentFact):
        self.incident = incident
        self.text = f"{incident.title}\n{incident.text}"
        self.blank = not self.text.strip()
        self.root_causes = [m.group("sha") for m in _ROOT_CAUSE.finditer(self.text)]
        self.hex_words = [m.group(0) for m in _SHA.finditer(self.text)]
        # For ASCII text a deployment id can only be named if it occurs (ignoring case) as a substring,
        # which rules out nearly every deployment without compiling its patterns.
        self.lowered = self.text.lower() if self.text.isascii() else None
        self._numbers: dict[str, set[int]] = {}

    def may_name(self, ext_id: str) -> bool:
        """False only when ``ext_id`` cannot occur in the text, even ignoring case."""
        return self.lowered is None or not ext_id.isascii() or ext_id.lower() in self.lowered

    def candidates(
        self, ordered: Sequence[DeploymentFact], lowered_ext_ids: Sequence[str | None], named: set[str]
    ) -> Sequence[DeploymentFact]:
        """The deployments ``_explicitly_links`` might link, in order: a cheap superset of the real ones.

        ``named`` holds the uids of deployments that are, or shipped, a commit named by SHA.
        """
        if self.lowered is None:
            return ordered
        ref = (self.incident.deployment_ref or "").strip()
        text = "" if self.blank else self.lowered
        return [
            d
            for d, ext in zip(ordered, lowered_ext_ids, strict=True)
            if d.uid in named
            or (ref and ref in (d.ext_id, d.uid))
            or (text and (ext is None or ext in text))
            or self.pr_numbers(d.repo)
        ]

    def pr_numbers(self, repo: str) -> set[int]:
        """PR numbers of ``repo`` the text names; bare ``#12`` counts only in the incident's own repository."""
        numbers = self._numbers.get(repo)
        if numbers is None:
            numbers = _pr_numbers_named(self.text, repo)
            if self.incident.repo != repo:
                numbers = {
                    n for n in numbers if re.search(rf"(?:{re.escape(repo)}#|/pull/){n}\b", self.text, re.IGNORECASE)
                }
            self._numbers[repo] = numbers
        return numbers


def _named_by_sha(
    reads: Sequence[_IncidentText], ordered: Sequence[DeploymentFact], change_sets: ChangeSets
) -> list[set[str]]:
    """Per incident, the uids of deployments that are (hex words) or shipped (root causes) a commit it
    names by SHA, matched as ``_sha_match`` does: a prefix of seven characters or more."""
    named: list[set[str]] = [set() for _ in reads]
    roots: dict[str, list[tuple[int, str]]] = defaultdict(list)  # first seven characters -> candidates
    words: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i, read in enumerate(reads):
        for sha in ([read.incident.root_cause_sha] if read.incident.root_cause_sha else []) + read.root_causes:
            if len(sha) >= 7:
                roots[sha[:7].lower()].append((i, sha.lower()))
        for word in read.hex_words:
            words[word[:7].lower()].append((i, word.lower()))
    for d in ordered if words else ():
        sha = (d.sha or "").lower()
        for i, word in words.get(sha[:7], ()):
            if sha.startswith(word):
                named[i].add(d.uid)
    for d in ordered if roots else ():
        shipped = {d.sha or ""} | {
            s for c in change_sets.by_deployment.get(d.uid, []) for s in c.commit_shas | {c.sha or ""}
        }
        for sha in (s.lower() for s in shipped if s):
            for i, candidate in roots.get(sha[:7], ()):
                if sha.startswith(candidate):
                    named[i].add(d.uid)
    return named


def _explicitly_links(
    incident: IncidentFact, d: DeploymentFact, shipped: Sequence[ChangeFact], read: _IncidentText | None = None
) -> str | None:
    """Why ``incident`` names deployment ``d`` explicitly, or ``None``."""
    read = read or _IncidentText(incident)
    ref = (incident.deployment_ref or "").strip()
    if ref and ref in (d.ext_id, d.uid):
        return f"incident {incident.label} names this deployment"
    shas: set[str] = set()
    if incident.root_cause_sha or read.root_causes:
        shas = {d.sha or ""} | {s for c in shipped for s in c.commit_shas | {c.sha or ""}}
        shas.discard("")
        if incident.root_cause_sha and _sha_match(incident.root_cause_sha, shas):
            return f"incident {incident.label} gives root cause {incident.root_cause_sha[:7]}, shipped here"
    if read.blank:
        return None
    for sha in read.root_causes:
        if _sha_match(sha, shas):
            return f"incident {incident.label} marks root cause {sha[:7]}, shipped here"
    if read.may_name(d.ext_id):
        ext = re.escape(d.ext_id)
        long_enough = len(d.ext_id) >= 6 or not d.ext_id.isdigit()
        if (long_enough and re.search(rf"(?<![\w-]){ext}(?![\w-])", read.text)) or re.search(
            rf"\bdeploy(?:ment)?\s*#?{ext}\b", read.text, re.IGNORECASE
        ):
            return f"incident {incident.label} names this deployment"
    if d.sha and any(_sha_match(word, [d.sha]) for word in read.hex_words):
        return f"incident {incident.label} names commit {d.sha[:7]}"
    numbers = read.pr_numbers(d.repo)
    named = [c for c in shipped if c.kind == "pr" and c.number in numbers] if numbers else []
    if named:
        return f"incident {incident.label} names PR #{named[0].number}, shipped here"
    return None


def format_duration(seconds: float | None) -> str:
    """Seconds for people: ``45 min``, ``3.5 h``, ``2 d``; ``—`` for no data."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    return f"{seconds / 86400:.1f} d".replace(".0 d", " d")


def detect_failures(
    deployments: Sequence[DeploymentFact],
    change_sets: ChangeSets,
    incidents: Sequence[IncidentFact],
    *,
    window: timedelta,
    changes: Sequence[ChangeFact],
    repos: frozenset[str] = frozenset(),
) -> dict[str, Failure]:
    """Apply the four failure rules of DESIGN.md §3 to every deployment; returns failed ones by uid.

    ``repos`` are the team's repositories: an incident of one of them is attributed in time only to
    that repository's deployments; an incident known only by its service, to any of the team's.
    """
    ordered = deployment_order(deployments)
    by_repo: dict[str, list[DeploymentFact]] = defaultdict(list)
    for d in ordered:
        by_repo[d.repo].append(d)
    reasons: dict[str, list[str]] = defaultdict(list)
    recoveries: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    linked_incidents: dict[str, list[IncidentFact]] = defaultdict(list)

    lowered_ext_ids = [d.ext_id.lower() if d.ext_id.isascii() else None for d in ordered]
    reads = [_IncidentText(incident) for incident in incidents]
    named = _named_by_sha(reads, ordered, change_sets)
    finished = {repo: [d.finished_at for d in found] for repo, found in by_repo.items()}
    all_finished = [d.finished_at for d in ordered]

    # (a) explicit links, at any time; (b) time attribution for incidents with no explicit link.
    for incident, read, named_here in zip(incidents, reads, named, strict=True):
        linked = False
        for d in read.candidates(ordered, lowered_ext_ids, named_here):
            why = _explicitly_links(incident, d, change_sets.by_deployment.get(d.uid, []), read)
            if why:
                linked = True
                reasons[d.uid].append(f"{why} (explicit link)")
                linked_incidents[d.uid].append(incident)
        if linked:
            continue
        if incident.repo in repos or incident.repo in by_repo:
            scope, times = by_repo.get(incident.repo or "", []), finished.get(incident.repo or "", [])
        else:
            scope, times = ordered, all_finished
        before = bisect.bisect_right(times, incident.opened_at)  # deployments finished by the time it opened
        if before:
            latest = scope[before - 1]
            gap = (incident.opened_at - latest.finished_at).total_seconds()
            if gap <= window.total_seconds():
                reasons[latest.uid].append(
                    f"incident {incident.label} started {format_duration(gap)} later "
                    f"(time attribution, window {format_duration(window.total_seconds())})"
                )
                linked_incidents[latest.uid].append(incident)
    for uid, found in linked_incidents.items():
        for incident in found:
            if incident.resolved_at is not None:
                recoveries[uid].append((incident.resolved_at, f"incident {incident.label} resolved"))

    # (c) the next deployment within the window rolls back (older SHA, or marked rollback).
    for repo_deployments in by_repo.values():
        for d, nxt in itertools.pairwise(repo_deployments):
            if nxt.finished_at - d.finished_at > window:
                continue
            older = (
                nxt.sha is not None
                and nxt.sha != d.sha
                and change_sets.positions.get(nxt.uid, nxt.finished_at)
                < change_sets.positions.get(d.uid, d.finished_at)
            )
            if nxt.is_rollback or older:
                gap = (nxt.finished_at - d.finished_at).total_seconds()
                how = "marked rollback" if nxt.is_rollback else f"back to older {(nxt.sha or '')[:7]}"
                reasons[d.uid].append(f"rolled back {format_duration(gap)} later ({how})")
                recoveries[d.uid].append((nxt.finished_at, "rollback deployed"))

    # (d) a revert or hotfix of one of its changes is merged and deployed within the window.
    for change in changes:
        targets = reverted_targets(change, changes) or hotfix_targets(change, changes)
        fix_deploy = change_sets.first_deployment.get(change.key)
        if not targets or fix_deploy is None:
            continue
        kind = "reverted" if is_revert(change) else "hotfixed"
        for target in targets:
            shipped_by = change_sets.first_deployment.get(target.key)
            if shipped_by is None or shipped_by.uid == fix_deploy.uid:
                continue
            delay = fix_deploy.finished_at - shipped_by.finished_at
            if timedelta(0) < delay <= window:
                name = f"PR #{change.number}" if change.kind == "pr" else (change.sha or "")[:7]
                reasons[shipped_by.uid].append(
                    f"{kind} by {name}, deployed {format_duration(delay.total_seconds())} later"
                )
                recoveries[shipped_by.uid].append((fix_deploy.finished_at, f"{kind[:-1]} deployed"))

    failures = {}
    for d in ordered:
        if d.uid not in reasons:
            continue
        options = sorted(recoveries.get(d.uid, []))
        failures[d.uid] = Failure(
            deployment=d,
            reasons=tuple(dict.fromkeys(reasons[d.uid])),
            recovered_at=options[0][0] if options else None,
            recovered_by=options[0][1] if options else None,
            incidents=tuple(dict.fromkeys(linked_incidents.get(d.uid, []))),
        )
    return failures


def is_rework(change: ChangeFact, incidents: Sequence[IncidentFact], changes: Sequence[ChangeFact]) -> bool:
    """A revert, a hotfix, or a change that names one of the team's incidents (an incident fix)."""
    return _is_rework(change, _incident_idents(incidents))


@dataclass(frozen=True)
class _Idents:
    """Each incident with the id a fix would name (``900`` for ``github:acme/api#900``, else the source
    id), and what a text must contain to name any of them, checked first."""

    items: list[tuple[IncidentFact, str]]
    literal: re.Pattern[str] | None  # any incident URL or non-numeric id
    github_repos: frozenset[str | None]  # repositories of GitHub incidents (named by "#900")


def _incident_idents(incidents: Iterable[IncidentFact]) -> _Idents:
    items = []
    for incident in incidents:
        _, _, ident = incident.uid.partition(":")
        items.append((incident, ident.rsplit("#", 1)[-1] if "#" in ident else ident))
    literals = {i.url for i, _ in items if i.url} | {
        ident for _, ident in items if len(ident) >= 3 and not ident.isdigit()
    }
    return _Idents(
        items,
        re.compile("|".join(re.escape(x) for x in sorted(literals))) if literals else None,
        frozenset(i.repo for i, _ in items if i.uid.startswith("github:")),
    )


def _is_rework(change: ChangeFact, idents: _Idents) -> bool:
    if is_revert(change) or is_hotfix(change):
        return True
    text = f"{change.title}\n{change.body}"
    # Naming an incident takes its URL or id in the text, or a "#900" / "/pull/900" of its repository.
    if not (
        (idents.literal is not None and idents.literal.search(text))
        or (change.repo in idents.github_repos and ("#" in text or "/pull/" in text))
    ):
        return False
    numbers: set[int] | None = None  # PR numbers the text names, read once
    for incident, ident in idents.items:
        if incident.url and incident.url in text:
            return True
        if incident.uid.startswith("github:") and incident.repo == change.repo:
            if ident.isdigit():
                if numbers is None:
                    numbers = _pr_numbers_named(text, change.repo)
                if int(ident) in numbers:
                    return True
        elif (
            len(ident) >= 3
            and not ident.isdigit()
            and ident in text  # the pattern below only matches where the id stands literally
            and re.search(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", text)
        ):
            return True
    return False


# --- the figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeLead:
    """A change deployed in a window with its lead time and stages (seconds)."""

    change: ChangeFact
    deployment: DeploymentFact
    lead_s: float
    stages: dict[str, float | None]


def change_lead(change: ChangeFact, deployment: DeploymentFact) -> ChangeLead:
    """Lead time and stage breakdown of one deployed change (stages clamp at zero)."""
    start = change.first_commit_at or change.landed_at
    lead = (deployment.finished_at - start).total_seconds()
    stages: dict[str, float | None] = {"coding_s": None, "pickup_s": None, "review_s": None, "deploy_s": None}
    stages["deploy_s"] = max(0.0, (deployment.finished_at - change.landed_at).total_seconds())
    if change.kind == "pr":
        ready = change.ready_at or change.landed_at
        if change.first_commit_at is not None:
            stages["coding_s"] = max(0.0, (ready - change.first_commit_at).total_seconds())
        review = (
            change.first_review_at if change.first_review_at and change.first_review_at <= change.landed_at else None
        )
        if review is not None:
            stages["pickup_s"] = max(0.0, (review - ready).total_seconds())
            stages["review_s"] = max(0.0, (change.landed_at - max(review, ready)).total_seconds())
        else:
            stages["review_s"] = max(0.0, (change.landed_at - ready).total_seconds())
    return ChangeLead(change=change, deployment=deployment, lead_s=lead, stages=stages)


def deployment_frequency(
    deployments: Sequence[DeploymentFact], window: Window, profile: Profile, *, has_history: bool
) -> Frequency:
    """Per day and per week over all calendar days; tier from deployment days (DESIGN.md §3)."""
    inside = [d for d in deployments if window.contains(d.finished_at)]
    if not inside and not has_history:
        return Frequency(deployments=0, per_day=None, per_week=None, deploy_days=0, tier=None)
    tz = ZoneInfo(window.timezone)
    days = {d.finished_at.astimezone(tz).date() for d in inside}
    per_day = len(inside) / window.days if window.days > 0 else None
    return Frequency(
        deployments=len(inside),
        per_day=per_day,
        per_week=None if per_day is None else per_day * 7,
        deploy_days=len(days),
        tier=frequency_tier(days, window, profile),
    )


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def frequency_tier(deploy_days: set[date], window: Window, profile: Profile) -> str:
    """Tier from the median distinct deploy days per complete ISO week / calendar month."""
    tz = ZoneInfo(window.timezone)
    start_local, end_local = window.start.astimezone(tz), window.end.astimezone(tz)
    first_day = (
        start_local.date()
        if start_local == _local_midnight(start_local.date(), tz)
        else (start_local.date() + timedelta(days=1))
    )
    # Complete ISO weeks (Monday to Sunday) inside the window.
    monday = first_day + timedelta(days=(7 - first_day.weekday()) % 7)
    weeks = []
    while _local_midnight(monday + timedelta(days=7), tz) <= end_local:
        weeks.append(sum(1 for i in range(7) if monday + timedelta(days=i) in deploy_days))
        monday += timedelta(days=7)
    if not weeks:  # a window shorter than a complete week counts as one week
        weeks = [len(deploy_days)]
    week_median = median(weeks)
    bands = profile.frequency
    if week_median >= bands.elite_days_per_week:
        return profile.tiers[0]
    if week_median >= bands.high_days_per_week:
        return profile.tiers[1]
    months = []
    month_start = first_day if first_day.day == 1 else (first_day.replace(day=1) + timedelta(days=32)).replace(day=1)
    while True:
        next_month = (month_start + timedelta(days=32)).replace(day=1)
        if _local_midnight(next_month, tz) > end_local:
            break
        months.append(sum(1 for day in deploy_days if month_start <= day < next_month))
        month_start = next_month
    if not months:  # no complete calendar month: the window stands for one
        months = [len(deploy_days)]
    if median(months) >= bands.medium_days_per_month:
        return profile.tiers[2]
    return profile.worst


def lead_time(leads: Sequence[ChangeLead], profile: Profile) -> LeadTime:
    """Median and p90 of lead times, the excluded negative ones, and stage medians."""
    valid = [lead for lead in leads if lead.lead_s >= 0]
    values = [lead.lead_s for lead in valid]
    stages = {
        key: median_or_none([v for lead in valid if (v := lead.stages[key]) is not None])
        for key in ("coding_s", "pickup_s", "review_s", "deploy_s")
    }
    med = median_or_none(values)
    return LeadTime(
        changes=len(valid),
        median_s=med,
        p90_s=percentile(values, 0.9),
        excluded_negative=len(leads) - len(valid),
        stages=stages,
        tier=profile.lead_time_tier(med),
    )


def change_failure_rate(
    deployments: Sequence[DeploymentFact], failures: dict[str, Failure], window: Window, profile: Profile
) -> ChangeFailure:
    """Distinct failed deployments ÷ production deployments, both by finish time in the window."""
    inside = [d for d in deployments if window.contains(d.finished_at)]
    failed = sum(1 for d in inside if d.uid in failures)
    rate = failed / len(inside) if inside else None
    return ChangeFailure(failed=failed, deployments=len(inside), rate=rate, tier=profile.rate_tier(rate))


def recovery_time(failures: dict[str, Failure], window: Window, profile: Profile, as_of: datetime) -> Recovery:
    """Recovery of the window's failed deployments; unrecovered ones are open with the oldest age."""
    mine = [f for f in failures.values() if window.contains(f.deployment.finished_at)]
    values = [s for f in mine if (s := f.recovery_s) is not None]
    still_open = [f for f in mine if f.recovered_at is None]
    oldest = max(((as_of - f.deployment.finished_at).total_seconds() for f in still_open), default=None)
    med = median_or_none(values)
    return Recovery(
        recovered=len(values),
        open=len(still_open),
        median_s=med,
        p90_s=percentile(values, 0.9),
        oldest_open_s=oldest,
        tier=profile.recovery_tier(med),
    )


def time_to_restore(incidents: Sequence[IncidentFact], window: Window) -> Restore:
    """Incidents opened in the window: median time to resolve, and how many are still open."""
    mine = [i for i in incidents if window.contains(i.opened_at)]
    values = [max(0.0, (i.resolved_at - i.opened_at).total_seconds()) for i in mine if i.resolved_at is not None]
    return Restore(
        resolved=len(values),
        open=sum(1 for i in mine if i.resolved_at is None),
        median_s=median_or_none(values),
        p90_s=percentile(values, 0.9),
    )


def rework_rate(
    deployments: Sequence[DeploymentFact],
    change_sets: ChangeSets,
    incidents: Sequence[IncidentFact],
    changes: Sequence[ChangeFact],
    window: Window,
) -> Rework:
    """Share of the window's deployments whose change set holds a revert, a hotfix or an incident fix."""
    inside = [d for d in deployments if window.contains(d.finished_at)]
    idents = _incident_idents(incidents)
    reworked = sum(1 for d in inside if any(_is_rework(c, idents) for c in change_sets.by_deployment.get(d.uid, [])))
    return Rework(reworked=reworked, deployments=len(inside), rate=reworked / len(inside) if inside else None)


@dataclass(frozen=True)
class Analysis:
    """Everything derived from a team's facts, shared by the figures, the weekly series and explain."""

    deployments: list[DeploymentFact]
    changes: list[ChangeFact]
    incidents: list[IncidentFact]
    change_sets: ChangeSets
    failures: dict[str, Failure]
    leads: list[ChangeLead]


def analyse(
    deployments: Sequence[DeploymentFact],
    changes: Sequence[ChangeFact],
    incidents: Sequence[IncidentFact],
    histories: dict[str, RepoHistory],
    *,
    attribution_window: timedelta,
    repos: Iterable[str] = (),
) -> Analysis:
    """Assign changes to deployments, find failures and compute each deployed change's lead time."""
    ordered = deployment_order(deployments)
    change_list = sorted(changes, key=lambda c: (c.landed_at, c.key))
    incident_list = sorted(incidents, key=lambda i: (i.opened_at, i.uid))
    sets = assign_changes(ordered, change_list, histories)
    failures = detect_failures(
        ordered, sets, incident_list, window=attribution_window, changes=change_list, repos=frozenset(repos)
    )
    leads = [change_lead(c, sets.first_deployment[c.key]) for c in change_list if c.key in sets.first_deployment]
    return Analysis(ordered, change_list, incident_list, sets, failures, leads)


def figures(analysis: Analysis, window: Window, profile: Profile, *, as_of: datetime, has_history: bool) -> Figures:
    """Every figure of DESIGN.md §3 for one window."""
    leads = [lead for lead in analysis.leads if window.contains(lead.deployment.finished_at)]
    return Figures(
        window=window,
        frequency=deployment_frequency(analysis.deployments, window, profile, has_history=has_history),
        lead_time=lead_time(leads, profile),
        change_failure_rate=change_failure_rate(analysis.deployments, analysis.failures, window, profile),
        recovery_time=recovery_time(analysis.failures, window, profile, as_of),
        time_to_restore=time_to_restore(analysis.incidents, window),
        rework_rate=rework_rate(
            analysis.deployments, analysis.change_sets, analysis.incidents, analysis.changes, window
        ),
    )


def weekly_series(analysis: Analysis, window: Window) -> list[WeekPoint]:
    """ISO weeks (team time zone) overlapping the window, each cut to the window."""
    tz = ZoneInfo(window.timezone)
    day = window.start.astimezone(tz).date()
    monday = day - timedelta(days=day.weekday())
    weeks: list[tuple[date, Window]] = []
    while _local_midnight(monday, tz) < window.end:
        start = max(window.start, _local_midnight(monday, tz))
        end = min(window.end, _local_midnight(monday + timedelta(days=7), tz))
        weeks.append((monday, Window(start, end, window.timezone)))
        monday += timedelta(days=7)
    # The weeks tile the window, so one pass puts every deployment and lead in its week (order kept).
    starts = [week.start for _, week in weeks]
    deployed: list[list[DeploymentFact]] = [[] for _ in weeks]
    leads: list[list[float]] = [[] for _ in weeks]
    for d in analysis.deployments:
        if window.contains(d.finished_at):
            deployed[bisect.bisect_right(starts, d.finished_at) - 1].append(d)
    for lead in analysis.leads:
        if lead.lead_s >= 0 and window.contains(lead.deployment.finished_at):
            leads[bisect.bisect_right(starts, lead.deployment.finished_at) - 1].append(lead.lead_s)
    points = []
    for (monday, _), week_deployed, week_leads in zip(weeks, deployed, leads, strict=True):
        failed = [analysis.failures[d.uid] for d in week_deployed if d.uid in analysis.failures]
        iso = monday.isocalendar()
        points.append(
            WeekPoint(
                week=f"{iso.year}-W{iso.week:02d}",
                start=monday,
                deployments=len(week_deployed),
                lead_time_median_s=median_or_none(week_leads),
                lead_time_p90_s=percentile(week_leads, 0.9),
                change_failure_rate=len(failed) / len(week_deployed) if week_deployed else None,
                recovery_times_s=tuple(s for f in failed if (s := f.recovery_s) is not None),
            )
        )
    return points
