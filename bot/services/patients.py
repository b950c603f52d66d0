"""Patients and their invites: add, list, show, invite, unlink."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update

from bot.db import checkin_queries, queries
from bot.db.models import (
    Invite,
    Patient,
    PatientStatus,
    ScheduledMessage,
    TreatmentSession,
)
from bot.errors import BadInput, NotFound
from bot.services.context import Context
from bot.services.inputs import check_name, is_record_id
from bot.services.planning import replan_patient

# 24 random bytes = 192 bits, well over the 128 the design asks for; base64url keeps it inside
# Telegram's 64-character limit for the start parameter.
TOKEN_BYTES = 24
UNLINKED_REASON = "patient unlinked"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def first_name(name: str) -> str:
    """What whoever opens an invite link may read: the first word of the name, nothing more."""
    return name.split(maxsplit=1)[0] if name.split() else name


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        raise BadInput(f"unknown time zone {name[:40]!r} (use a name like Europe/Paris)") from None
    return name


@dataclass(frozen=True)
class PatientView:
    patient: Patient
    sessions: Sequence[TreatmentSession]
    messages: Sequence[ScheduledMessage]


@dataclass(frozen=True)
class InviteLink:
    patient_id: int
    link: str
    token: str
    expires_at: dt.datetime


async def add_patient(
    ctx: Context, name: str, language: str | None = None, timezone: str | None = None
) -> Patient:
    name = check_name(name, "a patient")
    lang = language or ctx.clinic.default_language
    if lang not in ctx.i18n.languages:
        raise BadInput(
            f"language {lang[:20]!r} is not shipped (shipped: {', '.join(ctx.i18n.languages)})"
        )
    zone = check_timezone(timezone or ctx.clinic.timezone)
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = Patient(
            name=name,
            language=lang,
            is_language_set=language is not None,
            timezone=zone,
            status=PatientStatus.INVITED,
            created_at=now,
        )
        db.add(patient)
        await db.flush()
        queries.add_audit(db, now, "cli", "patient.add", f"patient:{patient.id}")
    return patient


async def update_patient(
    ctx: Context, ref: str, language: str | None = None, timezone: str | None = None
) -> Patient:
    """Staff change a patient's language or time zone; a new zone re-plans what is unsent."""
    found = await find_patient(ctx, ref)
    if language is not None and language not in ctx.i18n.languages:
        shipped = ", ".join(ctx.i18n.languages)
        raise BadInput(f"language {language[:20]!r} is not shipped (shipped: {shipped})")
    if timezone is not None:
        check_timezone(timezone)
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await db.get(Patient, found.id)
        assert patient is not None
        if language is not None:
            patient.language, patient.is_language_set = language, True
        if timezone is not None and timezone != patient.timezone:
            patient.timezone = timezone
            await replan_patient(db, ctx, patient, now)
        queries.add_audit(db, now, "cli", "patient.update", f"patient:{patient.id}")
    ctx.wake()
    return patient


async def list_patients(ctx: Context) -> Sequence[Patient]:
    async with ctx.db() as db:
        return (await db.execute(select(Patient).order_by(Patient.id))).scalars().all()


async def find_patient(ctx: Context, ref: str) -> Patient:
    """A patient by id (`12` or `P0012`)."""
    digits = ref.strip().upper().removeprefix("P")
    if not digits.isdigit():
        raise BadInput(f"{ref[:30]!r} is not a patient id")
    if len(digits) > 19 or not is_record_id(int(digits)):
        raise NotFound(f"no patient with id {ref[:30]}")
    async with ctx.db() as db:
        patient = await queries.get_patient(db, int(digits))
    if patient is None:
        raise NotFound(f"no patient with id {ref}")
    return patient


async def show_patient(ctx: Context, ref: str) -> PatientView:
    patient = await find_patient(ctx, ref)
    async with ctx.db() as db:
        sessions = await queries.sessions_for_patient(db, patient.id)
        messages = await queries.messages_for_patient(db, patient.id)
    return PatientView(patient, sessions, messages)


async def create_invite(ctx: Context, ref: str) -> InviteLink:
    """A new one-time link; the patient's earlier links that were not used stop working."""
    patient = await find_patient(ctx, ref)
    if patient.telegram_user_id is not None:
        raise BadInput(f"patient {patient.id} is already linked to Telegram")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = ctx.now()
    expires_at = now + ctx.clinic.invite_ttl
    async with ctx.db.begin() as db:
        revoked = await db.execute(
            update(Invite)
            .where(
                Invite.patient_id == patient.id,
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .returning(Invite.id)
            .execution_options(synchronize_session=False)
        )
        db.add(
            Invite(
                patient_id=patient.id,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=expires_at,
            )
        )
        queries.add_audit(
            db,
            now,
            "cli",
            "invite.create",
            f"patient:{patient.id}",
            revoked=[r for (r,) in revoked.all()],
        )
    link = f"https://t.me/{ctx.clinic.bot_username}?start={token}"
    return InviteLink(patient.id, link, token, expires_at)


async def unlink_patient(ctx: Context, ref: str) -> Patient:
    """Staff unbind a patient's Telegram account (a wrong person linked, a new phone): nothing
    more is sent to it, open check-ins are closed, and a new invite links the patient again."""
    found = await find_patient(ctx, ref)
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await db.get(Patient, found.id, with_for_update=True)
        assert patient is not None
        if patient.telegram_user_id is None:
            raise BadInput(f"patient {patient.id} is not linked to Telegram")
        was = patient.telegram_user_id
        patient.telegram_user_id = None
        patient.consent_at = None
        # messages wait, held, until the patient links again and agrees (stopped stays stopped)
        if patient.status != PatientStatus.STOPPED:
            patient.status = PatientStatus.INVITED
        await checkin_queries.close_open(db, patient.id, now, UNLINKED_REASON)
        queries.add_audit(
            db, now, "cli", "patient.unlink", f"patient:{patient.id}", telegram_user_id=was
        )
    return patient
