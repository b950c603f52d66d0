"""Danger words in what a patient writes: the answer at once and an alert at that level, with or
without an open check-in (issue 10, item 3)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.db.models import Checkin, CheckinStatus, Escalation, Report
from bot.domain.triage import Level
from bot.services import buttons, checkins
from bot.services.context import Context
from tests.conftest import T0
from tests.services.helpers import active_patient, with_session

USER = 5801


async def one(ctx: Context, model: type) -> object:
    async with ctx.db() as db:
        return (await db.execute(select(model))).scalar_one()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "I can't breathe properly and my lips are swelling up"),
        ("fr", "j'arrive pas a respirer et mes levres gonflent"),
        ("es", "no puedo respirar bien y se me hinchan los labios"),
        ("ru", "не могу нормально дышать и губы опухают"),
        ("ar", "ما اقدر اتنفس وشفايفي منتفخة"),
    ],
)
async def test_emergency_words_with_no_check_in_open(
    ctx: Context, language: str, words: str
) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=3))
    reply = await checkins.report_words(ctx, USER, words, None)
    assert reply is not None and len(reply.send) == 1
    assert "112" in reply.send[0].text  # the emergency number, in the patient's words' answer
    escalation = await one(ctx, Escalation)
    report = await one(ctx, Report)
    checkin = await one(ctx, Checkin)
    assert isinstance(escalation, Escalation) and escalation.level == Level.EMERGENCY
    assert isinstance(report, Report) and report.note == words and "breathing" in report.flags
    assert isinstance(checkin, Checkin) and checkin.status == CheckinStatus.COMPLETE


async def test_urgent_words_during_a_check_in_alert_and_leave_it_open(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=30))
    started = await checkins.start(ctx, USER)
    assert started is not None and started.checkin_id is not None
    await checkins.press(ctx, USER, buttons.HasSymptoms(started.checkin_id))
    reply = await checkins.report_words(ctx, USER, "I think I have a fever tonight", None)
    assert reply is not None and "call Clinique Test now" in reply.send[0].text
    escalation = await one(ctx, Escalation)
    checkin = await one(ctx, Checkin)
    assert isinstance(escalation, Escalation) and escalation.level == Level.URGENT
    assert isinstance(checkin, Checkin) and checkin.status == CheckinStatus.OPEN
    assert checkin.flags == ["fever"]


async def test_the_same_words_twice_are_answered_twice_and_alerted_once(ctx: Context) -> None:
    await active_patient(ctx, USER)
    started = await checkins.start(ctx, USER)
    assert started is not None
    for _ in range(2):
        reply = await checkins.report_words(ctx, USER, "my throat is swelling", None)
        assert reply is not None and reply.send[0].text.startswith("Please call 112 now")
    async with ctx.db() as db:
        assert len((await db.execute(select(Escalation))).scalars().all()) == 1


@pytest.mark.parametrize(
    "words",
    ["Can I put make-up on tomorrow?", "my skin feels fine", "the swelling is gone", ""],
)
async def test_other_words_go_on_as_usual(ctx: Context, words: str) -> None:
    await active_patient(ctx, USER)
    assert await checkins.report_words(ctx, USER, words, None) is None
    async with ctx.db() as db:
        assert (await db.execute(select(Escalation))).first() is None


async def test_a_stranger_is_not_judged(ctx: Context) -> None:
    assert await checkins.report_words(ctx, 999, "I can't breathe", None) is None
