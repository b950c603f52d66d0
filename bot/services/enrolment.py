"""Enrolment: an invite link is opened, consent is given, the Telegram user is bound."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import Invite, Patient, PatientStatus, StartAttempt
from bot.services.context import Context
from bot.services.patients import hash_token

# Guessing is slowed down: after FREE_TRIES wrong tokens, each further one locks the user out
# for twice as long as the last (1, 2, 4 … minutes, at most a day).
FREE_TRIES = 3
MAX_LOCK = dt.timedelta(days=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class OpenOutcome(enum.StrEnum):
    CONSENT_NEEDED = "consent_needed"
    WRONG = "wrong"
    USED = "used"
    EXPIRED = "expired"
    SLOW_DOWN = "slow_down"
    ALREADY_LINKED = "already_linked"


class ConsentOutcome(enum.StrEnum):
    LINKED = "linked"
    NOT_YOURS = "not_yours"
    USED = "used"
    EXPIRED = "expired"
    ALREADY_LINKED = "already_linked"


@dataclass(frozen=True)
class Opened:
    outcome: OpenOutcome
    invite_id: int | None = None
    patient_name: str | None = None
    language: str | None = None
    retry_at: dt.datetime | None = None


@dataclass(frozen=True)
class Consented:
    outcome: ConsentOutcome
    patient_id: int | None = None
    language: str | None = None


async def open_invite(
    ctx: Context, token: str, telegram_user_id: int, telegram_language: str | None = None
) -> Opened:
    """`/start <token>`: checks the token and asks for consent; nothing is bound yet."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        if await queries.patient_by_telegram(db, telegram_user_id) is not None:
            return Opened(OpenOutcome.ALREADY_LINKED)
        attempt = await db.get(StartAttempt, telegram_user_id)
        if attempt and attempt.blocked_until and attempt.blocked_until > now:
            return Opened(OpenOutcome.SLOW_DOWN, retry_at=attempt.blocked_until)
        invite = None
        if _TOKEN.match(token):
            stmt = select(Invite).where(Invite.token_hash == hash_token(token))
            invite = (await db.execute(stmt)).scalar_one_or_none()
        if invite is None:
            retry_at = _record_failure(db, attempt, telegram_user_id, now)
            queries.add_audit(db, now, f"telegram:{telegram_user_id}", "invite.wrong", "invite:-")
            if retry_at is not None:
                return Opened(OpenOutcome.SLOW_DOWN, retry_at=retry_at)
            return Opened(OpenOutcome.WRONG)
        if invite.used_at is not None:
            return Opened(OpenOutcome.USED)
        if invite.expires_at <= now:
            return Opened(OpenOutcome.EXPIRED)
        if attempt is not None:
            await db.delete(attempt)
        # The last one to open the link is asked for consent; only they can agree.
        invite.opened_by = telegram_user_id
        invite.opened_at = now
        patient = await db.get(Patient, invite.patient_id)
        assert patient is not None
        queries.add_audit(
            db, now, f"telegram:{telegram_user_id}", "invite.open", f"invite:{invite.id}"
        )
        return Opened(
            OpenOutcome.CONSENT_NEEDED,
            invite.id,
            patient.name,
            first_language(ctx, patient, telegram_language),
        )


def _record_failure(
    db: AsyncSession, attempt: StartAttempt | None, telegram_user_id: int, now: dt.datetime
) -> dt.datetime | None:
    if attempt is None:
        attempt = StartAttempt(telegram_user_id=telegram_user_id, failures=0, last_failed_at=now)
        db.add(attempt)
    attempt.failures += 1
    attempt.last_failed_at = now
    if attempt.failures < FREE_TRIES:
        return None
    lock = min(dt.timedelta(minutes=2 ** (attempt.failures - FREE_TRIES)), MAX_LOCK)
    attempt.blocked_until = now + lock
    return attempt.blocked_until


def first_language(ctx: Context, patient: Patient, telegram_language: str | None) -> str:
    """Staff's or the patient's choice; else Telegram's language when shipped; else the clinic's."""
    if patient.is_language_set:
        return patient.language
    return ctx.i18n.language(telegram_language)


async def give_consent(
    ctx: Context, invite_id: int, telegram_user_id: int, telegram_language: str | None = None
) -> Consented:
    """The agree button: binds the Telegram user to the patient and burns the token."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        invite = await db.get(Invite, invite_id)
        if invite is None or invite.opened_by != telegram_user_id:
            return Consented(ConsentOutcome.NOT_YOURS)
        linked = await queries.patient_by_telegram(db, telegram_user_id)
        if linked is not None:
            return Consented(ConsentOutcome.ALREADY_LINKED, linked.id, linked.language)
        if invite.expires_at <= now:
            return Consented(ConsentOutcome.EXPIRED)
        # The conditional update burns the token exactly once, even if two presses race.
        burnt = await db.execute(
            update(Invite)
            .where(Invite.id == invite.id, Invite.used_at.is_(None))
            .values(used_at=now)
            .returning(Invite.id)
        )
        if burnt.scalar_one_or_none() is None:
            return Consented(ConsentOutcome.USED)
        patient = await db.get(Patient, invite.patient_id)
        assert patient is not None
        if patient.telegram_user_id is not None:
            return Consented(ConsentOutcome.USED)
        patient.telegram_user_id = telegram_user_id
        patient.consent_at = now
        patient.language = first_language(ctx, patient, telegram_language)
        if patient.status == PatientStatus.INVITED:
            patient.status = PatientStatus.ACTIVE
        queries.add_audit(
            db, now, f"patient:{patient.id}", "consent.given", f"patient:{patient.id}"
        )
        result = Consented(ConsentOutcome.LINKED, patient.id, patient.language)
    ctx.wake()
    return result
