"""Invites that cannot be taken over (issue 11, item 6) and start attempts that are capped,
forgotten and pruned (item 10)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.db.models import (
    AuditEvent,
    Checkin,
    CheckinStatus,
    Invite,
    Patient,
    PatientStatus,
    ScheduledMessage,
    StartAttempt,
)
from bot.errors import BadInput
from bot.services import checkins, enrolment, health, patients
from bot.services.context import Context
from bot.services.enrolment import ConsentOutcome, OpenOutcome

PATIENT_C, STRANGER, THIRD = 7101, 7102, 7103


async def invite_for(ctx: Context, name: str = "Camille Martin") -> tuple[int, str]:
    patient = await patients.add_patient(ctx, name, "en", "Europe/Paris")
    link = await patients.create_invite(ctx, str(patient.id))
    return patient.id, link.token


async def notices(ctx: Context, topic: str) -> list[ScheduledMessage]:
    async with ctx.db() as db:
        stmt = select(ScheduledMessage).where(ScheduledMessage.step_key == f"staff:{topic}")
        return list((await db.execute(stmt)).scalars())


async def patient_row(ctx: Context, patient_id: int) -> Patient:
    async with ctx.db() as db:
        found = await db.get(Patient, patient_id)
    assert found is not None
    return found


async def test_a_second_opener_cannot_take_the_link_before_the_patient_agrees(
    ctx: Context,
) -> None:
    """The issue's scenario: C opens her link, someone else opens it before she agrees; the
    other is refused and C's "I agree" works."""
    pid, token = await invite_for(ctx)
    opened = await enrolment.open_invite(ctx, token, PATIENT_C)
    assert opened.outcome == OpenOutcome.CONSENT_NEEDED
    second = await enrolment.open_invite(ctx, token, STRANGER)
    assert second.outcome == OpenOutcome.IN_USE and second.invite_id is None
    refused = await enrolment.give_consent(ctx, opened.invite_id or 0, STRANGER)
    assert refused.outcome == ConsentOutcome.NOT_YOURS
    done = await enrolment.give_consent(ctx, opened.invite_id or 0, PATIENT_C)
    assert done.outcome == ConsentOutcome.LINKED
    assert (await patient_row(ctx, pid)).telegram_user_id == PATIENT_C


async def test_staff_hear_once_a_hold_that_a_link_was_refused(ctx: Context) -> None:
    pid, token = await invite_for(ctx)
    await enrolment.open_invite(ctx, token, PATIENT_C)
    for user in (STRANGER, STRANGER, THIRD):
        assert (await enrolment.open_invite(ctx, token, user)).outcome == OpenOutcome.IN_USE
    [notice] = await notices(ctx, "invite-in-use")
    assert notice.chat_id == -1001 and notice.patient_id == pid
    assert "Camille Martin (P0001)" in (notice.body or "")
    assert "aftercare invite 1" in (notice.body or "")


async def test_the_hold_runs_out_and_the_holder_cannot_renew_it(
    ctx: Context, clock: FrozenClock
) -> None:
    _pid, token = await invite_for(ctx)
    opened = await enrolment.open_invite(ctx, token, STRANGER)
    clock.advance(enrolment.HOLD - dt.timedelta(seconds=1))
    # opening it again does not start the hold afresh
    assert (await enrolment.open_invite(ctx, token, STRANGER)).outcome == (
        OpenOutcome.CONSENT_NEEDED
    )
    assert (await enrolment.open_invite(ctx, token, PATIENT_C)).outcome == OpenOutcome.IN_USE
    clock.advance(dt.timedelta(seconds=2))
    mine = await enrolment.open_invite(ctx, token, PATIENT_C)
    assert mine.outcome == OpenOutcome.CONSENT_NEEDED
    late = await enrolment.give_consent(ctx, opened.invite_id or 0, STRANGER)
    assert late.outcome == ConsentOutcome.NOT_YOURS
    assert (await enrolment.give_consent(ctx, mine.invite_id or 0, PATIENT_C)).outcome == (
        ConsentOutcome.LINKED
    )


async def test_the_consent_question_shows_only_the_first_name(ctx: Context) -> None:
    _pid, token = await invite_for(ctx, "  Camille   Anne Martin ")
    opened = await enrolment.open_invite(ctx, token, PATIENT_C)
    assert opened.first_name == "Camille"


async def test_a_new_invite_revokes_the_earlier_ones(ctx: Context) -> None:
    pid, first = await invite_for(ctx)
    opened = await enrolment.open_invite(ctx, first, STRANGER)
    second = await patients.create_invite(ctx, str(pid))
    assert (await enrolment.open_invite(ctx, first, THIRD)).outcome == OpenOutcome.REVOKED
    # who opened the old link before it was revoked cannot agree with it either
    late = await enrolment.give_consent(ctx, opened.invite_id or 0, STRANGER)
    assert late.outcome == ConsentOutcome.REVOKED
    fresh = await enrolment.open_invite(ctx, second.token, PATIENT_C)
    assert fresh.outcome == OpenOutcome.CONSENT_NEEDED
    done = await enrolment.give_consent(ctx, fresh.invite_id or 0, PATIENT_C)
    assert done.outcome == ConsentOutcome.LINKED
    async with ctx.db() as db:
        invites = (await db.execute(select(Invite).order_by(Invite.id))).scalars().all()
    assert invites[0].revoked_at is not None and invites[0].used_at is None
    assert invites[1].revoked_at is None and invites[1].used_at is not None


async def test_staff_are_told_when_a_patient_links(ctx: Context) -> None:
    pid, token = await invite_for(ctx)
    opened = await enrolment.open_invite(ctx, token, PATIENT_C)
    assert await notices(ctx, "linked") == []
    await enrolment.give_consent(ctx, opened.invite_id or 0, PATIENT_C)
    [notice] = await notices(ctx, "linked")
    assert notice.patient_id == pid and "Camille Martin (P0001) connected" in (notice.body or "")


async def test_unlink_unbinds_the_user_closes_check_ins_and_is_audited(ctx: Context) -> None:
    pid, token = await invite_for(ctx)
    opened = await enrolment.open_invite(ctx, token, PATIENT_C)
    await enrolment.give_consent(ctx, opened.invite_id or 0, PATIENT_C)
    assert await checkins.start(ctx, PATIENT_C) is not None
    unlinked = await patients.unlink_patient(ctx, str(pid))
    assert unlinked.telegram_user_id is None
    row = await patient_row(ctx, pid)
    assert (row.telegram_user_id, row.status, row.consent_at) == (None, PatientStatus.INVITED, None)
    async with ctx.db() as db:
        checkin = (await db.execute(select(Checkin))).scalar_one()
        audit = (
            await db.execute(select(AuditEvent).where(AuditEvent.action == "patient.unlink"))
        ).scalar_one()
    assert checkin.status == CheckinStatus.CLOSED and checkin.close_reason == "patient unlinked"
    assert audit.subject == f"patient:{pid}" and audit.detail == {"telegram_user_id": PATIENT_C}
    with pytest.raises(BadInput, match="not linked"):
        await patients.unlink_patient(ctx, str(pid))
    # the old account is a stranger now; a new invite links the patient again
    assert await checkins.start(ctx, PATIENT_C) is None
    link = await patients.create_invite(ctx, str(pid))
    again = await enrolment.open_invite(ctx, link.token, THIRD)
    assert (await enrolment.give_consent(ctx, again.invite_id or 0, THIRD)).outcome == (
        ConsentOutcome.LINKED
    )


# item 10: start attempts


async def test_wrong_tokens_from_many_users_are_capped_per_minute(
    ctx: Context, clock: FrozenClock
) -> None:
    _pid, token = await invite_for(ctx)
    for user in range(enrolment.WRONG_PER_MINUTE):
        wrong = await enrolment.open_invite(ctx, f"wrong-token-{user:08d}", 8000 + user)
        assert wrong.outcome == OpenOutcome.WRONG  # each user's first: no lock of their own
    capped = await enrolment.open_invite(ctx, "wrong-token-99999999", 9999)
    assert capped.outcome == OpenOutcome.SLOW_DOWN
    # nothing is looked up meanwhile, not even a right token
    assert (await enrolment.open_invite(ctx, token, PATIENT_C)).outcome == OpenOutcome.SLOW_DOWN
    clock.advance(dt.timedelta(minutes=1, seconds=1))
    assert (await enrolment.open_invite(ctx, token, PATIENT_C)).outcome == (
        OpenOutcome.CONSENT_NEEDED
    )


async def test_a_users_wrong_tokens_are_forgotten_after_a_quiet_day(
    ctx: Context, clock: FrozenClock
) -> None:
    for i in range(enrolment.FREE_TRIES):
        await enrolment.open_invite(ctx, f"wrong-token-{i:08d}", STRANGER)
    clock.advance(dt.timedelta(hours=1))  # the lock (a minute) is over, the count is not
    assert (await enrolment.open_invite(ctx, "wrong-token-a0000000", STRANGER)).outcome == (
        OpenOutcome.SLOW_DOWN
    )
    clock.advance(enrolment.FORGET_AFTER + dt.timedelta(minutes=5))
    outcomes = [
        (await enrolment.open_invite(ctx, f"wrong-token-b{i:07d}", STRANGER)).outcome
        for i in range(enrolment.FREE_TRIES)
    ]
    assert outcomes == [OpenOutcome.WRONG] * (enrolment.FREE_TRIES - 1) + [OpenOutcome.SLOW_DOWN]


async def test_the_watchdog_prunes_forgotten_attempts_and_keeps_the_audit(
    ctx: Context, clock: FrozenClock
) -> None:
    await enrolment.open_invite(ctx, "wrong-token-00000000", STRANGER)
    clock.advance(dt.timedelta(hours=20))
    await enrolment.open_invite(ctx, "wrong-token-00000001", THIRD)
    clock.advance(dt.timedelta(hours=5))
    await health.watchdog(ctx)
    async with ctx.db() as db:
        kept = (await db.execute(select(StartAttempt.telegram_user_id))).scalars().all()
        audited = (
            await db.execute(select(func.count()).where(AuditEvent.action == "invite.wrong"))
        ).scalar_one()
    assert kept == [THIRD]
    assert audited == 2
