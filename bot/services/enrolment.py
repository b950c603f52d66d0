"""Enrolment: an invite link is opened, consent is given, the Telegram user is bound."""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import queries
from bot.db.models import AuditEvent, Invite, Patient, PatientStatus, StartAttempt
from bot.services.context import Context
from bot.services.notices import patient_ref, queue_staff_notice
from bot.services.patients import first_name, hash_token

log = logging.getLogger(__name__)

# The first person to open a link holds it until they agree or for this long: someone who opens
# it after them (a forwarded link, one read over a shoulder) cannot take it meanwhile.
HOLD = dt.timedelta(minutes=10)
# Guessing is slowed down: after FREE_TRIES wrong tokens, each further one locks the user out
# for twice as long as the last (1, 2, 4 … minutes, at most a day).
FREE_TRIES = 3
MAX_LOCK = dt.timedelta(days=1)
# A user's wrong tokens are forgotten after this long without one (counted from the end of any
# lock): the count goes back down, and the row is pruned (prune_attempts).
FORGET_AFTER = dt.timedelta(days=1)
# Wrong tokens from everyone together in a minute: past it no token is looked up for the rest
# of the minute, so many accounts guessing at once learn nothing (each only has FREE_TRIES).
WRONG_PER_MINUTE = 30
_MINUTE = dt.timedelta(minutes=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_WRONG = "invite.wrong"
_IN_USE = "invite.in_use"


class OpenOutcome(enum.StrEnum):
    CONSENT_NEEDED = "consent_needed"
    WRONG = "wrong"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    IN_USE = "in_use"
    SLOW_DOWN = "slow_down"
    ALREADY_LINKED = "already_linked"


class ConsentOutcome(enum.StrEnum):
    LINKED = "linked"
    NOT_YOURS = "not_yours"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    ALREADY_LINKED = "already_linked"


@dataclass(frozen=True)
class Opened:
    outcome: OpenOutcome
    invite_id: int | None = None
    # only the first name: whoever opens the link reads it before anyone has consented
    first_name: str | None = None
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
    """`/start <token>`: checks the token and asks for consent; nothing is bound yet. The first
    to open the link holds it (HOLD); anyone else meanwhile is refused, and staff are told."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        if await queries.patient_by_telegram(db, telegram_user_id) is not None:
            return Opened(OpenOutcome.ALREADY_LINKED)
        attempt = await db.get(StartAttempt, telegram_user_id)
        if attempt is not None and _is_forgotten(attempt, now):
            attempt.failures, attempt.blocked_until = 0, None
        if attempt and attempt.blocked_until and attempt.blocked_until > now:
            return Opened(OpenOutcome.SLOW_DOWN, retry_at=attempt.blocked_until)
        if await _wrong_in_last_minute(db, now) >= WRONG_PER_MINUTE:
            # not counted nor audited: the cap is there to keep a flood cheap
            log.warning("wrong invite tokens over %s a minute: lookups paused", WRONG_PER_MINUTE)
            return Opened(OpenOutcome.SLOW_DOWN, retry_at=now + _MINUTE)
        invite = None
        if _TOKEN.match(token):
            # locked: two people opening the link at once cannot both hold it
            stmt = select(Invite).where(Invite.token_hash == hash_token(token)).with_for_update()
            invite = (await db.execute(stmt)).scalar_one_or_none()
        if invite is None:
            retry_at = _record_failure(db, attempt, telegram_user_id, now)
            queries.add_audit(db, now, f"telegram:{telegram_user_id}", _WRONG, "invite:-")
            if retry_at is not None:
                return Opened(OpenOutcome.SLOW_DOWN, retry_at=retry_at)
            return Opened(OpenOutcome.WRONG)
        if invite.used_at is not None:
            return Opened(OpenOutcome.USED)
        if invite.revoked_at is not None:
            return Opened(OpenOutcome.REVOKED)
        if invite.expires_at <= now:
            return Opened(OpenOutcome.EXPIRED)
        patient = await db.get(Patient, invite.patient_id)
        assert patient is not None
        if attempt is not None:
            await db.delete(attempt)
        told = False
        if is_held_by_another(invite, telegram_user_id, now):
            told = await _refuse_in_use(db, ctx, invite, patient, telegram_user_id, now)
            refused: Opened | None = Opened(OpenOutcome.IN_USE)
        else:
            refused = None
            # the holder opening it again keeps the hold's start: nobody holds a link forever
            if invite.opened_by != telegram_user_id or invite.opened_at is None:
                invite.opened_by, invite.opened_at = telegram_user_id, now
            queries.add_audit(
                db, now, f"telegram:{telegram_user_id}", "invite.open", f"invite:{invite.id}"
            )
        language = first_language(ctx, patient, telegram_language)
        name = first_name(patient.name)
    if refused is not None:
        if told:
            ctx.wake()
        return refused
    return Opened(OpenOutcome.CONSENT_NEEDED, invite.id, name, language)


async def _refuse_in_use(
    db: AsyncSession,
    ctx: Context,
    invite: Invite,
    patient: Patient,
    telegram_user_id: int,
    now: dt.datetime,
) -> bool:
    """A second person opened a link someone holds: staff hear of it once a hold (whoever is
    the patient, staff can give them a new link), and it is audited then. True: told now."""
    told = await db.execute(
        select(AuditEvent.id)
        .where(
            AuditEvent.at >= (invite.opened_at or now),
            AuditEvent.action == _IN_USE,
            AuditEvent.subject == f"invite:{invite.id}",
        )
        .limit(1)
    )
    if told.first() is not None:
        return False
    queries.add_audit(db, now, f"telegram:{telegram_user_id}", _IN_USE, f"invite:{invite.id}")
    text = ctx.i18n.t(
        ctx.clinic.staff_language,
        "⚠️ The invite link of {name} ({ref}) was opened by a second Telegram account while "
        "the first one was being asked for consent; the second was refused. If the patient "
        "says they cannot connect, give them a new link (aftercare invite {id}): the old one "
        "then stops working.",
        name=patient.name,
        ref=patient_ref(patient),
        id=patient.id,
    )
    queue_staff_notice(db, ctx, patient, "invite-in-use", text, now)
    return True


def is_held_by_another(invite: Invite, telegram_user_id: int, now: dt.datetime) -> bool:
    """Someone else opened the link less than HOLD ago and has not agreed yet."""
    return (
        invite.opened_by is not None
        and invite.opened_by != telegram_user_id
        and invite.opened_at is not None
        and now - invite.opened_at < HOLD
    )


def _is_forgotten(attempt: StartAttempt, now: dt.datetime) -> bool:
    """A day without a wrong token, after any lock has run out: the user starts afresh."""
    quiet_since = max(attempt.last_failed_at, attempt.blocked_until or attempt.last_failed_at)
    return now - quiet_since >= FORGET_AFTER


async def _wrong_in_last_minute(db: AsyncSession, now: dt.datetime) -> int:
    # the audit's index on `at` keeps this a short range: at most a minute of audit rows
    stmt = select(func.count()).where(AuditEvent.at > now - _MINUTE, AuditEvent.action == _WRONG)
    return int((await db.execute(stmt)).scalar_one())


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
    lock = min(dt.timedelta(minutes=2 ** min(attempt.failures - FREE_TRIES, 20)), MAX_LOCK)
    attempt.blocked_until = now + lock
    return attempt.blocked_until


async def prune_attempts(ctx: Context) -> int:
    """Forgets wrong-token counts nobody added to for FORGET_AFTER (after any lock); the audit
    keeps the record of each wrong token."""
    cutoff = ctx.now() - FORGET_AFTER
    async with ctx.db.begin() as db:
        gone = await db.execute(
            delete(StartAttempt)
            .where(
                StartAttempt.last_failed_at <= cutoff,
                or_(StartAttempt.blocked_until.is_(None), StartAttempt.blocked_until <= cutoff),
            )
            .returning(StartAttempt.telegram_user_id)
        )
        return len(gone.all())


def first_language(ctx: Context, patient: Patient, telegram_language: str | None) -> str:
    """Staff's or the patient's choice; else Telegram's language when shipped; else the clinic's."""
    if patient.is_language_set:
        return patient.language
    return ctx.i18n.language(telegram_language)


async def give_consent(
    ctx: Context, invite_id: int, telegram_user_id: int, telegram_language: str | None = None
) -> Consented:
    """The agree button: binds the Telegram user to the patient and burns the token; staff are
    told in their chat."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        invite = await db.get(Invite, invite_id)
        if invite is None or invite.opened_by != telegram_user_id:
            return Consented(ConsentOutcome.NOT_YOURS)
        linked = await queries.patient_by_telegram(db, telegram_user_id)
        if linked is not None:
            return Consented(ConsentOutcome.ALREADY_LINKED, linked.id, linked.language)
        if invite.revoked_at is not None:
            return Consented(ConsentOutcome.REVOKED)
        if invite.expires_at <= now:
            return Consented(ConsentOutcome.EXPIRED)
        # The conditional update burns the token exactly once, even if two presses race, and
        # only for the one holding it (another may have taken it after the hold ran out).
        burnt = await db.execute(
            update(Invite)
            .where(
                Invite.id == invite.id,
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
                Invite.opened_by == telegram_user_id,
            )
            .values(used_at=now)
            .returning(Invite.id)
            .execution_options(synchronize_session=False)
        )
        if burnt.scalar_one_or_none() is None:
            return Consented(ConsentOutcome.USED)
        patient = await db.get(Patient, invite.patient_id, with_for_update=True)
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
        text = ctx.i18n.t(
            ctx.clinic.staff_language,
            "✅ {name} ({ref}) connected on Telegram and agreed to the aftercare messages.",
            name=patient.name,
            ref=patient_ref(patient),
        )
        queue_staff_notice(db, ctx, patient, "linked", text, now)
        result = Consented(ConsentOutcome.LINKED, patient.id, patient.language)
    ctx.wake()
    return result
