"""What is stored about answers: nothing that identifies a respondent, and nothing that orders or times them."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.types import Date, DateTime, Time

from bot.db import session_scope
from bot.surveys import service
from tests.survey_factories import (
    MEMBERS,
    SECRET,
    answer,
    apply_survey_teams,
    open_pulse,
    pulse_answers,
    teams_yml,
    utc,
)

OPENED = utc(2026, 11, 24, 9)


def _raw_rows(engine: Engine, table: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(f"SELECT * FROM {table}"))]


def _identifiers(slack_id: str, salt: str | None) -> set[str]:
    """The id itself and the unkeyed digests anyone could compute from it."""
    found = {slack_id, slack_id.lower()}
    for source in (slack_id, f"{salt}:{slack_id}", f"{salt}{slack_id}"):
        for algorithm in ("md5", "sha1", "sha256"):
            found.add(hashlib.new(algorithm, source.encode()).hexdigest())
    return found


@pytest.fixture
def answered_run(engine: Engine) -> tuple[int, str, list[str]]:
    """A run where 20 answers arrived one after another, each with a comment giving its position."""
    members = [f"U0ORDER{i:03d}" for i in range(20)]
    with session_scope(engine) as session:
        apply_survey_teams(session, teams_yml(members))
        run = open_pulse(session, OPENED)
        run_id, salt = run.id, run.salt
    for position, member in enumerate(members):
        with session_scope(engine) as session:  # one transaction per answer, as in production
            run = session.get(service.SurveyRun, run_id)
            answer(
                session,
                run,
                member,
                pulse_answers(1 + position % 5),
                OPENED + timedelta(minutes=position),
                comment=f"#{position:02d}",
            )
    return run_id, salt, members


def _close(engine: Engine, run_id: int) -> None:
    with session_scope(engine) as session:
        run = session.get(service.SurveyRun, run_id)
        service.close_run(session=session, run=run, now=run.closes_at, timezone="Europe/Berlin")


def test_answer_rows_hold_no_person_and_no_time(engine: Engine, answered_run: tuple[int, str, list[str]]) -> None:
    run_id, salt, members = answered_run
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("survey_response")}
    assert set(columns) == {"id", "run_id", "respondent_hash", "answers", "comment"}
    assert not [name for name, kind in columns.items() if isinstance(kind, DateTime | Date | Time)]

    forbidden = set().union(*(_identifiers(m, salt) for m in members))
    open_rows = _raw_rows(engine, "survey_response")
    assert len(open_rows) == 20
    for row in open_rows:
        values = " ".join(str(v) for v in row.values())
        assert not [f for f in forbidden if f in values], "an answer row can be tied to a person without the key"
        assert row["respondent_hash"] is not None  # keyed: only the server can find a person's row while open

    _close(engine, run_id)
    closed_rows = _raw_rows(engine, "survey_response")
    assert len(closed_rows) == 20
    for row in closed_rows:
        assert row["respondent_hash"] is None
        assert uuid.UUID(row["id"]).version == 4
        values = " ".join(str(v) for v in row.values())
        assert not [f for f in forbidden if f in values]
    assert {r["id"] for r in closed_rows}.isdisjoint({r["id"] for r in open_rows})
    assert _raw_rows(engine, "survey_participant") == []
    run = _raw_rows(engine, "survey_run")[0]
    assert run["salt"] is None
    # With the salt gone, even the server's own key no longer finds anyone.
    with session_scope(engine) as session:
        run_row = session.get(service.SurveyRun, run_id)
        assert service.answered(session=session, run=run_row, slack_ids=members, secret=SECRET) == set()


def test_closing_forgets_the_order_in_which_people_answered(
    engine: Engine, answered_run: tuple[int, str, list[str]]
) -> None:
    run_id, _, _ = answered_run
    physical = "ctid" if engine.dialect.name == "postgresql" else "rowid"
    query = text(f"SELECT comment FROM survey_response ORDER BY {physical}")
    with engine.connect() as conn:
        before = list(conn.scalars(query))
    assert before == [f"#{i:02d}" for i in range(20)]  # while open, storage order is arrival order
    _close(engine, run_id)
    with engine.connect() as conn:
        after = list(conn.scalars(query))
    assert sorted(after) == before
    assert after != before  # 1 in 20! that a random order equals the arrival order
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # Every answer row was written by the closing transaction: xmin no longer dates any answer.
            assert conn.scalar(text("SELECT count(DISTINCT xmin::text) FROM survey_response")) == 1


def test_answering_leaves_no_trace_in_the_participants_table(engine: Engine) -> None:
    with session_scope(engine) as session:
        apply_survey_teams(session)
        run_id = open_pulse(session, OPENED).id
    version = "xmin::text" if engine.dialect.name == "postgresql" else "rowid"
    query = text(f"SELECT {version}, * FROM survey_participant ORDER BY id")
    with engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(query)]
    with session_scope(engine) as session:
        answer(session, session.get(service.SurveyRun, run_id), MEMBERS[4], pulse_answers(3), OPENED)
    with engine.connect() as conn:
        after = [tuple(r) for r in conn.execute(query)]
    assert after == before  # not even PostgreSQL's row version moved


def test_no_log_line_names_a_respondent(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with session_scope(engine) as session:
        apply_survey_teams(session)
        run = open_pulse(session, OPENED)
        for member in MEMBERS[:6]:
            answer(session, run, member, pulse_answers(4, slowdown="deploys"), OPENED)
        answer(session, run, MEMBERS[0], pulse_answers(2), OPENED)
        service.close_run(session=session, run=run, now=run.closes_at, timezone="Europe/Berlin")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not [m for m in MEMBERS if m in logged]
