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
) -> str:
    """`course`: the session's place in its course ("session 2 of the course"), if worth saying."""
    lang = staff_lang(ctx)
    i18n = ctx.i18n
    lines = [
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
        # the patient's own words, as written but for characters that could restyle the alert
        lines.append(
            _st(
                ctx,
                "Patient wrote in {language}: «{text}»",
                language=ctx.i18n.name_of(patient.language, lang, title=False),
                text=_HIDDEN.sub("", report.note).strip(),
            )
        )
    if report.photo_file_id:
        lines.append(_st(ctx, "Photo below."))
    lines.append(_st(ctx, "Reply to this message to write to the patient."))
    return "\n".join(lines)


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


# Telegram's limit for a message's text, counted here in UTF-16 code units (never fewer than
# Telegram's own count), so that a patient's long text is cut, never refused.
TEXT_LIMIT = 4096
# Characters that would let a patient's words restyle the staff message around them: controls
# other than tabs and line breaks, bidirectional marks, overrides and isolates, zero-width ones.
_HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def text_units(text: str) -> int:
    """A text's length as Telegram limits it."""
    return len(text.encode("utf-16-le")) // 2


def set_apart(ctx: Context, text: str, room: int = TEXT_LIMIT) -> str:
    """A patient's words as staff read them: hidden characters removed, quoted, and cut with a
    marker to take at most `room` of the staff message."""
    clean = _HIDDEN.sub("", text).strip()
    quoted = f"«{clean}»"
    if text_units(quoted) <= room:
        return quoted
    mark = " " + _st(ctx, "(cut: too long for one message)")
    keep = max(room - text_units("«…»" + mark), 0)
    # a surrogate pair cut in half is dropped by the decoder
    head = clean.encode("utf-16-le")[: 2 * keep].decode("utf-16-le", errors="ignore")
    return f"«{head}…»{mark}"


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
