"""Survey runs on the database: templates, answers, one response per person, closing and results."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.surveys import service
from bot.surveys.models import SurveyParticipant, SurveyResponse, SurveyResult, SurveyRun, SurveyTemplate
from bot.surveys.schedule import WorkingHours
from bot.teams.config import QuestionConfig, ReviewsConfig, parse_teams_yaml
from bot.teams.service import apply_config, get_team
from tests.survey_factories import (
    MEMBERS,
    OUTSIDER,
    SECRET,
    TEAMS_YML,
    answer,
    apply_survey_teams,
    open_pulse,
    pulse_answers,
    utc,
)

OPENED = utc(2026, 11, 24, 9)  # Tue 10:00 Berlin


@pytest.fixture
def teams(session: Session) -> Session:
    apply_survey_teams(session)
    session.flush()
    return session


def test_open_run_invites_every_member_until_the_same_local_time(teams: Session) -> None:
    run = open_pulse(teams, OPENED)
    assert run.closes_at == utc(2026, 11, 27, 9)  # Fri 10:00 Berlin
    assert run.threshold == 5 and run.salt and len(run.salt) == 64
    assert [p.slack_id for p in service.participants(session=teams, run=run)] == sorted(MEMBERS)
    assert run.questions[0]["id"] == "feedback-loops"  # a snapshot: later template edits do not change it


def test_a_team_has_one_open_run_at_a_time(teams: Session) -> None:
    open_pulse(teams, OPENED)
    with pytest.raises(service.SurveyAlreadyOpenError, match=r"until Fri 27 Nov 10:00.*/pulse close team-a"):
        open_pulse(teams, OPENED + timedelta(hours=1), template="enps")


def test_one_response_per_person_and_answers_can_change_until_close(teams: Session) -> None:
    run = open_pulse(teams, OPENED)
    assert answer(teams, run, MEMBERS[0], pulse_answers(2), OPENED) is True
    assert answer(teams, run, MEMBERS[0], pulse_answers(5, slowdown="CI"), OPENED + timedelta(hours=1)) is False
    rows = teams.scalars(select(SurveyResponse)).all()
    assert len(rows) == 1 and rows[0].answers["flow"] == 5 and rows[0].answers["slowdown"] == "CI"
    mine = service.own_answers(session=teams, run=run, slack_id=MEMBERS[0], secret=SECRET)
    assert mine is not None and mine.answers["flow"] == 5
    assert service.own_answers(session=teams, run=run, slack_id=MEMBERS[1], secret=SECRET) is None


def test_answers_are_refused_from_outsiders_after_closing_time_and_when_malformed(teams: Session) -> None:
    run = open_pulse(teams, OPENED)
    with pytest.raises(service.NotInvitedError, match="members of `team-a`"):
        answer(teams, run, OUTSIDER, pulse_answers(3), OPENED)
    with pytest.raises(service.SurveyNotOpenError, match="has closed"):
        answer(teams, run, MEMBERS[0], pulse_answers(3), run.closes_at)
    with pytest.raises(service.InvalidAnswersError) as caught:
        answer(teams, run, MEMBERS[0], {**pulse_answers(3), "flow": 9}, OPENED)
    assert caught.value.problems == {"flow": "Please pick a value from 1 to 5."}
    assert teams.scalars(select(SurveyResponse)).all() == []


def test_a_double_submission_at_the_same_moment_stores_one_response(engine: Engine) -> None:
    with session_scope(engine) as session:
        apply_survey_teams(session)
        run_id = open_pulse(session, OPENED).id
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit(value: int) -> None:
        try:
            with session_scope(engine) as session:
                run = session.get(SurveyRun, run_id)
                barrier.wait(timeout=5)
                answer(session, run, MEMBERS[3], pulse_answers(value), OPENED)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(v,)) for v in (1, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(engine) as session:
        rows = session.scalars(select(SurveyResponse)).all()
        assert len(rows) == 1 and rows[0].answers["flow"] in (1, 4)


def test_who_answered_is_derived_and_answering_writes_nothing_about_people(teams: Session) -> None:
    run = open_pulse(teams, OPENED)
    before = [
        (p.id, p.slack_id, p.status, p.reminders_sent, p.remind_after)
        for p in service.participants(session=teams, run=run)
    ]
    answer(teams, run, MEMBERS[2], pulse_answers(4), OPENED)
    teams.expire_all()
    after = [
        (p.id, p.slack_id, p.status, p.reminders_sent, p.remind_after)
        for p in service.participants(session=teams, run=run)
    ]
    assert after == before
    assert service.answered(session=teams, run=run, slack_ids=MEMBERS, secret=SECRET) == {MEMBERS[2]}
    assert service.answered(session=teams, run=run, slack_ids=MEMBERS, secret=b"another key") == set()


def close(session: Session, run: SurveyRun, when=None):
    return service.close_run(session=session, run=run, now=when or run.closes_at, timezone="Europe/Berlin")


def test_closing_keeps_results_for_the_digest_and_cuts_every_link(teams: Session) -> None:
    run = open_pulse(teams, OPENED)
    for i, member in enumerate(MEMBERS[:6]):
        answer(teams, run, member, pulse_answers(2 + i % 3, slowdown=f"reason {i}"), OPENED)
    results = close(teams, run)
    assert results.shown and results.responses == 6 and results.invited == 8
    stored = teams.scalars(select(SurveyResult)).one()
    assert (stored.team_id, stored.week, stored.responses, stored.invited, stored.shown) == (
        "team-a",
        "2026-W48",
        6,
        8,
        True,
    )
    assert stored.index_value == results.index == 3.0
    assert stored.questions["flow"]["distribution"] == [0, 2, 2, 2, 0]
    assert run.status == "closed" and run.salt is None
    assert teams.scalars(select(SurveyParticipant)).all() == []
    rows = teams.scalars(select(SurveyResponse)).all()
    assert len(rows) == 6 and all(r.respondent_hash is None for r in rows)
    assert service.answered(session=teams, run=run, slack_ids=MEMBERS, secret=SECRET) == set()
    with pytest.raises(service.SurveyNotOpenError):
        answer(teams, run, MEMBERS[7], pulse_answers(3), OPENED)
    again = service.results_for_run(session=teams, run=run, timezone="Europe/Berlin")
    assert again == results
    assert close(teams, run) == results  # closing twice changes nothing


def test_a_run_closed_below_the_threshold_keeps_counts_and_no_answers(teams: Session) -> None:
    run = open_pulse(teams, OPENED)
    for member in MEMBERS[:4]:
        answer(teams, run, member, pulse_answers(1, slowdown="my manager"), OPENED)
    results = close(teams, run)
    assert not results.shown and results.needed == 1
    assert teams.scalars(select(SurveyResponse)).all() == []
    stored = teams.scalars(select(SurveyResult)).one()
    assert (stored.shown, stored.responses, stored.index_value, stored.questions) == (False, 4, None, {})


def test_changes_are_against_the_last_shown_run_of_the_same_template(teams: Session) -> None:
    first = open_pulse(teams, OPENED)
    for member in MEMBERS[:5]:
        answer(teams, first, member, pulse_answers(2), OPENED)
    close(teams, first)
    small = open_pulse(teams, OPENED + timedelta(weeks=2))
    answer(teams, small, MEMBERS[0], pulse_answers(5), OPENED + timedelta(weeks=2))
    close(teams, small)
    third = open_pulse(teams, OPENED + timedelta(weeks=4))
    for member in MEMBERS[:5]:
        answer(teams, third, member, pulse_answers(4), OPENED + timedelta(weeks=4))
    results = close(teams, third)
    assert results.index_change == 2.0 and results.compared_with == "24 Nov"
    history = service.sentiment_history(session=teams, team_id="team-a")
    assert [(h.week, h.shown, h.headline) for h in history] == [
        ("2026-W48", True, 2.0),
        ("2026-W50", False, None),
        ("2026-W52", True, 4.0),
    ]
    assert [h.week for h in service.sentiment_history(session=teams, team_id="team-a", weeks=["2026-W52"])] == [
        "2026-W52"
    ]


def test_templates_come_from_teams_yml_slack_and_the_built_ins(teams: Session) -> None:
    assert service.resolve_template(session=teams, key="retro").source == "teams.yml"
    assert service.resolve_template(session=teams, key="PULSE").source == "built-in"
    made = service.create_template(
        session=teams,
        key="onboarding",
        title="Onboarding check",
        questions=[QuestionConfig(id="q1", text="I know who to ask.")],
        created_by=MEMBERS[0],
    )
    assert service.resolve_template(session=teams, key="onboarding") == made
    with pytest.raises(service.SurveyError, match="already exists"):
        service.create_template(session=teams, key="pulse", title="x", questions=made.questions, created_by="U1")
    with pytest.raises(service.UnknownTemplateError, match="enps, onboarding, pulse, quarterly, retro"):
        service.resolve_template(session=teams, key="nope")
    # Dropping the template from teams.yml removes it; the one made in Slack stays.
    apply_config(session=teams, config=parse_teams_yaml(TEAMS_YML.split("survey_templates:")[0]))
    assert sorted(teams.scalars(select(SurveyTemplate.key))) == ["onboarding"]


def test_a_custom_template_runs_like_a_built_in(teams: Session) -> None:
    run = open_pulse(teams, OPENED, template="retro")
    for i, member in enumerate(MEMBERS[:5]):
        answer(teams, run, member, {"safety": 4} | ({"follow-up": 2} if i < 2 else {}), OPENED)
    results = close(teams, run)
    safety, follow_up = results.questions
    assert safety.shown and safety.mean == 4.0
    assert not follow_up.shown and follow_up.answered == 2


def test_reminders_skip_those_who_answered_or_skipped_and_respect_their_hours(teams: Session) -> None:
    run = open_pulse(teams, OPENED)
    answer(teams, run, MEMBERS[2], pulse_answers(4), OPENED)
    service.skip(session=teams, run=run, slack_id=MEMBERS[3], now=OPENED)
    team = get_team(session=teams, team_id="team-a")
    hours = {m: WorkingHours.from_config(ReviewsConfig(), "Europe/Berlin") for m in MEMBERS}
    hours[MEMBERS[1]] = WorkingHours.from_config(team.reviews, "America/New_York")

    def remind_at(now: datetime) -> list[str]:
        found = service.people_to_remind(
            session=teams, run=run, now=now, allowed=2, hours_of=lambda ids: hours, secret=SECRET
        )
        for row in found:
            service.mark_reminded(session=teams, row=row)
        return sorted(p.slack_id for p in found)

    assert remind_at(utc(2026, 11, 24, 20)) == []  # nothing due on the first day
    due = utc(2026, 11, 25, 9)  # Wed 10:00 Berlin, 04:00 in New York
    assert remind_at(due) == sorted(set(MEMBERS) - {MEMBERS[1], MEMBERS[2], MEMBERS[3]})
    assert remind_at(due) == []  # counted: not again
    assert remind_at(utc(2026, 11, 25, 14)) == [MEMBERS[1]]  # 09:00 in New York
    assert remind_at(utc(2026, 11, 26, 9)) == sorted(set(MEMBERS) - {MEMBERS[1], MEMBERS[2], MEMBERS[3]})
    assert remind_at(utc(2026, 11, 26, 15)) == [MEMBERS[1]]
    assert remind_at(utc(2026, 11, 27, 7)) == []  # two each at most


def test_an_answer_racing_the_close_is_refused_not_stored_beside_the_results(engine: Engine) -> None:
    with session_scope(engine) as session:
        apply_survey_teams(session)
        run_id = open_pulse(session, OPENED).id
        for member in MEMBERS[:5]:
            answer(session, session.get(SurveyRun, run_id), member, pulse_answers(3), OPENED)
    with session_scope(engine) as late:
        stale = late.get(SurveyRun, run_id)  # loaded while the run is still open
        assert stale is not None and stale.status == "open"
        late.commit()
        with session_scope(engine) as closing:
            close(closing, closing.get(SurveyRun, run_id), OPENED + timedelta(days=1))
        with pytest.raises(service.SurveyNotOpenError):
            answer(late, stale, MEMBERS[6], pulse_answers(5), OPENED + timedelta(days=1))
    with session_scope(engine) as session:
        rows = session.scalars(select(SurveyResponse)).all()
        assert len(rows) == 5 and all(r.respondent_hash is None for r in rows)
