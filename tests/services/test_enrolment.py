"""Invites and consent: one-time, expiring, hashed tokens; guessing is slowed down."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import Invite, Patient, PatientStatus
from bot.errors import BadInput, NotFound
from bot.services import enrolment, patients
from bot.services.context import Context
from bot.services.enrolment import ConsentOutcome, OpenOutcome
from bot.services.patients import hash_token

USER, OTHER = 4242, 4343


async def invited(ctx: Context) -> tuple[int, str]:
    patient = await patients.add_patient(ctx, "Anna", "en", "Europe/Paris")
    link = await patients.create_invite(ctx, str(patient.id))
    return patient.id, link.token


async def test_invite_token_is_long_stored_hashed_and_expires(ctx: Context) -> None:
    _pid, token = await invited(ctx)
    assert len(token) >= 32  # 24 random bytes, base64url: 192 bits
    async with ctx.db() as db:
        invite = (await db.execute(select(Invite))).scalar_one()
    assert invite.token_hash == hash_token(token) and token not in invite.token_hash
    assert invite.expires_at - invite.created_at == dt.timedelta(days=7)


async def test_link_then_consent_binds_the_user_and_burns_the_token(ctx: Context) -> None:
    pid, token = await invited(ctx)
    opened = await enrolment.open_invite(ctx, token, USER)
    assert opened.outcome == OpenOutcome.CONSENT_NEEDED and opened.first_name == "Anna"
    async with ctx.db() as db:
        p = await db.get(Patient, pid)
        assert p is not None and p.telegram_user_id is None  # nothing bound before consent
    done = await enrolment.give_consent(ctx, opened.invite_id or 0, USER)
    assert done.outcome == ConsentOutcome.LINKED
    async with ctx.db() as db:
        p = await db.get(Patient, pid)
        assert p is not None
        assert (p.telegram_user_id, p.status) == (USER, PatientStatus.ACTIVE)
        assert p.consent_at is not None
    again = await enrolment.open_invite(ctx, token, OTHER)
    assert again.outcome == OpenOutcome.USED


async def test_someone_else_cannot_consent_for_the_opener(ctx: Context) -> None:
    _pid, token = await invited(ctx)
    opened = await enrolment.open_invite(ctx, token, USER)
    result = await enrolment.give_consent(ctx, opened.invite_id or 0, OTHER)
    assert result.outcome == ConsentOutcome.NOT_YOURS


async def test_expired_token_is_refused(ctx: Context, clock: FrozenClock) -> None:
    _pid, token = await invited(ctx)
    clock.advance(dt.timedelta(days=7, seconds=1))
    assert (await enrolment.open_invite(ctx, token, USER)).outcome == OpenOutcome.EXPIRED


async def test_consent_after_expiry_is_refused(ctx: Context, clock: FrozenClock) -> None:
    _pid, token = await invited(ctx)
    opened = await enrolment.open_invite(ctx, token, USER)
    clock.advance(dt.timedelta(days=8))
    result = await enrolment.give_consent(ctx, opened.invite_id or 0, USER)
    assert result.outcome == ConsentOutcome.EXPIRED


async def test_repeated_wrong_tokens_are_slowed_down(ctx: Context, clock: FrozenClock) -> None:
    _pid, token = await invited(ctx)
    outcomes = [
        (await enrolment.open_invite(ctx, f"wrong-token-{i:08d}", USER)).outcome for i in range(4)
    ]
    assert outcomes[:2] == [OpenOutcome.WRONG, OpenOutcome.WRONG]
    assert outcomes[2:] == [OpenOutcome.SLOW_DOWN, OpenOutcome.SLOW_DOWN]
    # while locked out, even the right token waits
    assert (await enrolment.open_invite(ctx, token, USER)).outcome == OpenOutcome.SLOW_DOWN
    clock.advance(dt.timedelta(minutes=5))
    assert (await enrolment.open_invite(ctx, token, USER)).outcome == OpenOutcome.CONSENT_NEEDED


async def test_a_linked_user_cannot_take_a_second_patient(ctx: Context) -> None:
    _pid, token = await invited(ctx)
    opened = await enrolment.open_invite(ctx, token, USER)
    await enrolment.give_consent(ctx, opened.invite_id or 0, USER)
    _pid2, token2 = await invited(ctx)
    assert (await enrolment.open_invite(ctx, token2, USER)).outcome == OpenOutcome.ALREADY_LINKED


async def test_patient_input_is_checked(ctx: Context) -> None:
    with pytest.raises(BadInput, match="time zone"):
        await patients.add_patient(ctx, "X", "en", "Nowhere/City")
    with pytest.raises(BadInput, match="language"):
        await patients.add_patient(ctx, "X", "xx", None)
    with pytest.raises(BadInput, match="name"):
        await patients.add_patient(ctx, "   ", None, None)
    with pytest.raises(NotFound):
        await patients.create_invite(ctx, "999")
    with pytest.raises(BadInput, match="not a patient id"):
        await patients.create_invite(ctx, "abc")
