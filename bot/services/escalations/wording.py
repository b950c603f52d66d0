"""What staff read about an alert, in the staff language: the alert itself with its buttons,
the reminder rounds, the outcomes, and the patient's words passed on."""

from __future__ import annotations

import datetime as dt
import re

from bot.db.models import (
    Escalation,
    EscalationOutcome,
    EscalationStatus,
    Patient,
    Report,
    TreatmentSession,
)
from bot.domain.triage import FLAGS
from bot.i18n import N_
from bot.services import buttons
from bot.services.context import Context
from bot.services.notices import patient_ref
from bot.services.outbox import Styled, units
from bot.services.ports import Buttons
from bot.services.vocabulary import (
    FLAG_DESCRIPTIONS,
    LEVEL_ICONS,
    LEVEL_LABELS,
    reason_text,
    severity_name,
    symptom_name,
)

REMINDER_ROUNDS = 3
OUTCOMES = {
    EscalationOutcome.CALLED: N_("called the patient"),
    EscalationOutcome.CAME_IN: N_("asked the patient to come in"),
    EscalationOutcome.NO_ACTION: N_("no action needed"),
}


def staff_lang(ctx: Context) -> str:
    return ctx.clinic.staff_language


def _st(ctx: Context, msgid: str, **params: object) -> str:
    return ctx.i18n.t(staff_lang(ctx), msgid, **params)


def alert_buttons(ctx: Context, escalation: Escalation) -> Buttons:
    """Acknowledge while nobody has; Resolve until it is."""
    row = [(_st(ctx, "Resolve"), buttons.Resolve(escalation.id).pack(ctx.signer))]
    if escalation.status == EscalationStatus.OPEN:
        row.insert(
            0, (_st(ctx, "Acknowledge"), buttons.Acknowledge(escalation.id).pack(ctx.signer))
        )
    return [row]


def outcome_buttons(ctx: Context, escalation: Escalation) -> Buttons:
    return [
        [(_st(ctx, label), buttons.ResolveAs(escalation.id, outcome).pack(ctx.signer))]
        for outcome, label in OUTCOMES.items()
    ]


def outcome_name(ctx: Context, outcome: EscalationOutcome) -> str:
    return _st(ctx, OUTCOMES[outcome])


def alert_text(
    ctx: Context,
    escalation: Escalation,
    patient: Patient,
    session: TreatmentSession | None,
    report: Report,
    previous: Report | None,
    now: dt.datetime,
    course: str | None = None,
) -> Styled:
    """`course`: the session's place in its course ("session 2 of the course"), if worth saying."""
    lang = staff_lang(ctx)
    i18n = ctx.i18n
    lines: list[Styled | str] = [
        f"{LEVEL_ICONS.get(escalation.level, '')} {i18n.t(lang, LEVEL_LABELS[escalation.level])}"
        f" — " + _st(ctx, "alert #{id}", id=escalation.id),
        _st(ctx, "Patient: {name} ({ref})", name=patient.name, ref=patient_ref(patient)),
    ]
    if session is not None:
        hours = int((now - session.starts_at).total_seconds() // 3600)
        lines.append(
            _st(
                ctx,
                "Session: {treatment}, {area}, {date}, {ago}",
                treatment=session.treatment,
                area=session.area,
                date=i18n.when(lang, session.starts_at, ctx.clinic.timezone),
                ago=i18n.nt(lang, "{n} hour ago", "{n} hours ago", hours),
            )
            + (f" ({course})" if course else "")
        )
    before = previous.symptoms if previous is not None else {}
    symptoms = []
    for name, value in report.symptoms.items():
        now_name = severity_name(i18n, lang, value)
        if previous is None:
            trend = ""
        elif name in before:
            trend = " " + _st(
                ctx, "(was {severity})", severity=severity_name(i18n, lang, before[name])
            )
        else:
            trend = " " + _st(ctx, "(new)")
        symptoms.append(f"{symptom_name(i18n, lang, name)}: {now_name}{trend}")
    lines.append(_st(ctx, "Symptoms: {list}", list="; ".join(symptoms) or _st(ctx, "none")))
    if report.flags:
        flags = [i18n.t(lang, FLAG_DESCRIPTIONS[f]) for f in FLAGS if f in report.flags]
        lines.append(_st(ctx, "Red flags: {list}", list="; ".join(flags)))
    reasons = [reason_text(i18n, lang, r) for r in report.reasons]
    lines.append(_st(ctx, "Why: {list}", list="; ".join(reasons)))
    if report.note:
        language = ctx.i18n.name_of(patient.language, lang, title=False)
        lines.append(_st(ctx, "Patient wrote in {language}:", language=language))
        lines.append(set_apart(report.note))
    if report.photo_file_id:
        lines.append(_st(ctx, "Photo below."))
    lines.append(_st(ctx, "Reply to this message to write to the patient."))
    return Styled.lines(lines)


def update_head(ctx: Context, escalation: Escalation, *, is_worse: bool) -> str:
    """The first line when a new report updates an alert staff have already seen."""
    if is_worse:
        return _st(ctx, "Alert #{id} is now more serious.", id=escalation.id)
    return _st(ctx, "Update to alert #{id}: a new report from the patient.", id=escalation.id)


def photo_caption(ctx: Context, escalation: Escalation, patient: Patient) -> str:
    return _st(
        ctx,
        "Photo from {name} ({ref}), alert #{id}",
        name=patient.name,
        ref=patient_ref(patient),
        id=escalation.id,
    )


# Characters that would let a patient's words restyle the staff message around them: controls
# other than tabs and line breaks, bidirectional marks, overrides and isolates, zero-width ones.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """A patient's words without the characters that could restyle what is around them."""
    return _HIDDEN.sub("", text).strip()


def set_apart(text: str) -> Styled:
    """A patient's words as staff read them: cleaned, and set apart as a blockquote, so that no
    line of theirs can pass for one of the bot's ("Why: none", "✅ Alert #1 resolved by …").
    Kept whole: the outbox splits a long message into parts."""
    return Styled.quote(clean(text) or "…")


def one_word(text: str, room: int = 16) -> str:
    """A sticker's emoji (chosen from Telegram's, not typed) within a line of the bot's: cleaned,
    on one line, and short."""
    word = _SPACES.sub("", clean(text))
    # a surrogate pair cut in half is dropped by the decoder
    cut = word.encode("utf-16-le")[: 2 * room].decode("utf-16-le", errors="ignore")
    return cut if units(cut) == units(word) else cut + "…"


def patient_words_head(ctx: Context, escalation: Escalation, patient: Patient) -> str:
    """The first line of what a patient wrote while their alert is open, sent under the alert."""
    return _st(
        ctx,
        "{name} ({ref}) wrote in {language}, about alert #{id}:",
        language=ctx.i18n.name_of(patient.language, staff_lang(ctx), title=False),
        name=patient.name,
        ref=patient_ref(patient),
        id=escalation.id,
    )


def patient_message_head(ctx: Context, patient: Patient) -> str:
    """The first line of what a patient wrote with no alert open ("patient wrote")."""
    return "💬 " + _st(
        ctx,
        "{name} ({ref}) wrote in {language}:",
        language=ctx.i18n.name_of(patient.language, staff_lang(ctx), title=False),
        name=patient.name,
        ref=patient_ref(patient),
    )


def reply_hint(ctx: Context) -> str:
    return _st(ctx, "Reply to this message to write to the patient.")


def chase_text(ctx: Context, escalation: Escalation, patient: Patient, now: dt.datetime) -> str:
    """A reminder round, or after the last one the loud 'unanswered' summary."""
    minutes = int((now - escalation.opened_at).total_seconds() // 60)
    level = ctx.i18n.t(staff_lang(ctx), LEVEL_LABELS[escalation.level])
    who = {
        "name": patient.name,
        "ref": patient_ref(patient),
        "id": escalation.id,
        "level": level,
        "duration": ctx.i18n.nt(staff_lang(ctx), "{n} minute", "{n} minutes", minutes),
    }
    if escalation.rounds <= REMINDER_ROUNDS:
        return _st(
            ctx,
            "⏰ Reminder {round}/{rounds}: alert #{id} ({level}) for {name} ({ref}) "
            "has not been acknowledged for {duration}.",
            round=escalation.rounds,
            rounds=REMINDER_ROUNDS,
            **who,
        )
    return _st(
        ctx,
        "🚨 UNANSWERED: alert #{id} ({level}) for {name} ({ref}) has had no "
        "acknowledgement for {duration}, after {rounds} reminders. Someone must "
        "call the patient now.",
        rounds=REMINDER_ROUNDS,
        **who,
    )
