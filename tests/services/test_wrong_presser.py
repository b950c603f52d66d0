"""Every button checks who pressed it before it changes anything (issue 11, item 8): for each
kind of button, a press by someone it was not made for leaves every table as it was, and the
same press by the right person does change something (so the press was a real one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.models import AuditEvent, Base, EscalationOutcome
from bot.services import buttons as b
from bot.services import checkins, enrolment, escalations, patient_chat, patients, staff
from bot.services.context import Context
from tests.conftest import T0
from tests.services.helpers import active_patient, with_session

OWNER, OTHER, NURSE = 7201, 7202, 7203

Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(ctx: Context) -> Snapshot:
    """Every row of every table but the audit (a refusal is audited: that is not a change)."""
    found: Snapshot = {}
    async with ctx.db() as db:
        for table in Base.metadata.sorted_tables:
            if table.name == AuditEvent.__tablename__:
                continue
            rows = (await db.execute(select(table))).all()
            found[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return found


async def pressed_by_both(
    ctx: Context, press: Callable[[int], Awaitable[object]], *, owner: int = OWNER
) -> None:
    before = await snapshot(ctx)
    await press(OTHER)
    assert await snapshot(ctx) == before, "a press by the wrong person changed something"
    await press(owner)
    assert await snapshot(ctx) != before, "the right person's press should change something"


async def test_consent(ctx: Context) -> None:
    patient = await patients.add_patient(ctx, "Camille Martin", "en", "Europe/Paris")
    link = await patients.create_invite(ctx, str(patient.id))
    opened = await enrolment.open_invite(ctx, link.token, OWNER)
    assert opened.invite_id is not None
    await pressed_by_both(ctx, lambda who: enrolment.give_consent(ctx, opened.invite_id or 0, who))


async def test_choose_language(ctx: Context) -> None:
    owner = await active_patient(ctx, OWNER)
    await active_patient(ctx, OTHER, name="Other")
    await pressed_by_both(ctx, lambda who: patient_chat.set_language(ctx, who, "fr", owner.id))


async def test_choose_zone(ctx: Context) -> None:
    """The issue's finding: a /timezone button signed for another patient changed the
    presser's zone (and re-planned their messages) while answering "no longer works"."""
    owner = await active_patient(ctx, OWNER)
    other = await active_patient(ctx, OTHER, name="Other")
    await with_session(ctx, other, T0 + dt.timedelta(days=4))
    await pressed_by_both(
        ctx, lambda who: patient_chat.set_timezone(ctx, who, "Asia/Tokyo", owner.id)
    )


# the presses that bring a check-in to where each button is a real answer
_TO_FLAGS: list[Callable[[int], b.CheckinButton]] = [b.HasSymptoms]
_TO_SYMPTOMS = [*_TO_FLAGS, b.NoFlags]
_TO_SEVERITY = [*_TO_SYMPTOMS, lambda c: b.ToggleSymptom(c, "redness"), b.SymptomsDone]
_TO_NOTE = [*_TO_SEVERITY, lambda c: b.Rate(c, 1)]


@pytest.mark.parametrize(
    ("before", "button"),
    [
        ([], b.AllGood),
        ([], b.HasSymptoms),
        (_TO_FLAGS, lambda c: b.ToggleFlag(c, "fever")),
        (_TO_FLAGS, b.NoFlags),
        ([*_TO_FLAGS, lambda c: b.ToggleFlag(c, "pus")], b.FlagsDone),
        (_TO_SYMPTOMS, lambda c: b.ToggleSymptom(c, "swelling")),
        ([*_TO_SYMPTOMS, lambda c: b.ToggleSymptom(c, "swelling")], b.SymptomsDone),
        (_TO_SEVERITY, lambda c: b.Rate(c, 2)),
        (_TO_NOTE, b.SkipNote),
        ([b.AllGood], b.NewCheckin),
    ],
    ids=[
        "all-good",
        "has-symptoms",
        "toggle-flag",
        "no-flags",
        "flags-done",
        "toggle-symptom",
        "symptoms-done",
        "rate",
        "skip-note",
        "new-checkin",
    ],
)
async def test_checkin_buttons(
    ctx: Context,
    before: list[Callable[[int], b.CheckinButton]],
    button: Callable[[int], b.CheckinButton | b.NewCheckin],
) -> None:
    patient = await active_patient(ctx, OWNER)
    await active_patient(ctx, OTHER, name="Other")
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    started = await checkins.start(ctx, OWNER)
    assert started is not None and started.checkin_id is not None
    cid = started.checkin_id
    for earlier in before:
        await checkins.press(ctx, OWNER, earlier(cid))
    await pressed_by_both(ctx, lambda who: checkins.press(ctx, who, button(cid)))


async def _an_alert(ctx: Context) -> int:
    patient = await active_patient(ctx, OWNER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    await staff.add_staff(ctx, NURSE, "Joy", "nurse")
    started = await checkins.start(ctx, OWNER)
    assert started is not None and started.checkin_id is not None
    await checkins.press(ctx, OWNER, b.HasSymptoms(started.checkin_id))
    await checkins.press(ctx, OWNER, b.ToggleFlag(started.checkin_id, "fever"))
    [item] = await escalations.list_open(ctx)
    return item.escalation.id


async def test_acknowledge(ctx: Context) -> None:
    ref = await _an_alert(ctx)
    await pressed_by_both(ctx, lambda who: escalations.acknowledge(ctx, who, ref), owner=NURSE)


async def test_resolve_as(ctx: Context) -> None:
    ref = await _an_alert(ctx)
    await pressed_by_both(
        ctx,
        lambda who: escalations.resolve(ctx, who, ref, EscalationOutcome.CALLED),
        owner=NURSE,
    )


async def test_resolve_asks_and_changes_nothing_for_anyone(ctx: Context) -> None:
    """Resolve only asks how it was resolved: nothing changes whoever presses it, and only
    staff are asked."""
    ref = await _an_alert(ctx)
    before = await snapshot(ctx)
    refused = await escalations.ask_outcome(ctx, OTHER, ref)
    asked = await escalations.ask_outcome(ctx, NURSE, ref)
    assert refused.refusal == escalations.Refusal.NOT_STAFF and refused.buttons is None
    assert asked.refusal is None and asked.buttons
    assert await snapshot(ctx) == before
