"""What a linked patient can do from the chat: see what is coming, stop, resume, choose a
language and a time zone."""

from __future__ import annotations

import enum
import unicodedata
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from bot.db import checkin_queries, queries
from bot.db.models import (
    Audience,
    MessageStatus,
    Patient,
    PatientStatus,
    ScheduledMessage,
)
from bot.services.context import Context
from bot.services.notices import patient_ref, queue_staff_notice
from bot.services.planning import replan_patient
from bot.services.sessions import STOPPED_REASON


class Change(enum.StrEnum):
    DONE = "done"
    ALREADY = "already"
    NOT_LINKED = "not_linked"


@dataclass(frozen=True)
class Upcoming:
    patient: Patient
    messages: Sequence[ScheduledMessage]


async def who(ctx: Context, telegram_user_id: int) -> Patient | None:
    async with ctx.db() as db:
        return await queries.patient_by_telegram(db, telegram_user_id)


async def upcoming(ctx: Context, telegram_user_id: int) -> Upcoming | None:
    async with ctx.db() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return None
        rows = await queries.upcoming_for_patient(db, patient.id, ctx.now())
    return Upcoming(patient, rows)


async def stop(ctx: Context, telegram_user_id: int) -> tuple[Change, Patient | None]:
    """`/stop`: nothing more is sent; what is unsent is cancelled; staff are told."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return Change.NOT_LINKED, None
        if patient.status == PatientStatus.STOPPED:
            return Change.ALREADY, patient
        patient.status = PatientStatus.STOPPED
        for row in await queries.messages_for_patient(db, patient.id):
            if row.status == MessageStatus.PENDING and row.audience == Audience.PATIENT:
                row.status, row.last_error = MessageStatus.CANCELLED, STOPPED_REASON
        await checkin_queries.close_open(db, patient.id, now, STOPPED_REASON)
        text = ctx.i18n.t(
            ctx.clinic.staff_language,
            "Patient {name} ({ref}) stopped the aftercare messages with /stop.",
            name=patient.name,
            ref=patient_ref(patient),
        )
        queue_staff_notice(db, ctx, patient, "stopped", text, now)
        queries.add_audit(db, now, f"patient:{patient.id}", "patient.stop", f"patient:{patient.id}")
    ctx.wake()
    return Change.DONE, patient


async def resume(ctx: Context, telegram_user_id: int) -> tuple[Change, Patient | None]:
    """`/resume` (or any message after blocking): messages flow again, re-planned from now."""
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None:
            return Change.NOT_LINKED, None
        if patient.status == PatientStatus.ACTIVE:
            return Change.ALREADY, patient
        was = patient.status
        patient.status = PatientStatus.ACTIVE
        patient.unreachable_reported_at = None
        await replan_patient(db, ctx, patient, now)
        queries.add_audit(
            db,
            now,
            f"patient:{patient.id}",
            "patient.resume",
            f"patient:{patient.id}",
            was=str(was),
        )
    ctx.wake()
    return Change.DONE, patient


async def note_contact(ctx: Context, telegram_user_id: int) -> Patient | None:
    """A patient who had blocked the bot wrote again: they can be reached once more."""
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is not None and patient.status == PatientStatus.UNREACHABLE:
            patient.status = PatientStatus.ACTIVE
            patient.unreachable_reported_at = None
            queries.add_audit(
                db, ctx.now(), f"patient:{patient.id}", "patient.reachable", f"patient:{patient.id}"
            )
            ctx.wake()
    return patient


async def set_language(
    ctx: Context, telegram_user_id: int, lang: str, patient_id: int
) -> Patient | None:
    """`/language`: the patient's choice, from now on for every message. `patient_id` is whom
    the button was made for: a press by anyone else changes nothing (None)."""
    if lang not in ctx.i18n.languages:
        return None
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None or patient.id != patient_id:
            return None
        patient.language, patient.is_language_set = lang, True
        queries.add_audit(
            db,
            ctx.now(),
            f"patient:{patient.id}",
            "patient.language",
            f"patient:{patient.id}",
            language=lang,
        )
    return patient


async def set_timezone(
    ctx: Context, telegram_user_id: int, zone: str, patient_id: int
) -> Patient | None:
    """`/timezone`: a new zone, and what is unsent planned again in it. `patient_id` is whom
    the button was made for: checked in the same transaction as the change, so a press by
    anyone else changes nothing (None)."""
    if zone not in zoneinfo.available_timezones():
        return None
    now = ctx.now()
    async with ctx.db.begin() as db:
        patient = await queries.patient_by_telegram(db, telegram_user_id)
        if patient is None or patient.id != patient_id:
            return None
        if patient.timezone != zone:
            patient.timezone = zone
            await replan_patient(db, ctx, patient, now)
            queries.add_audit(
                db,
                now,
                f"patient:{patient.id}",
                "patient.timezone",
                f"patient:{patient.id}",
                timezone=zone,
            )
    ctx.wake()
    return patient


# A short list to choose from without typing; anyone else searches by city.
COMMON_ZONES = (
    "Europe/London",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Kolkata",
    "America/New_York",
    "America/Toronto",
    "America/Mexico_City",
)


def search_zones(query: str, limit: int = 8) -> list[str]:
    """Time zones whose city matches what the patient typed ("new york", "montréal")."""
    wanted = _fold(query).replace(" ", "_")
    if len(wanted) < 3:
        return []
    zones = sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")
    )
    exact = [z for z in zones if _fold(z.rsplit("/", 1)[1]) == wanted]
    partial = [z for z in zones if wanted in _fold(z.rsplit("/", 1)[1]) and z not in exact]
    return (exact + partial)[:limit]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
