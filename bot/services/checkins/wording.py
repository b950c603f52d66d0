"""What a patient reads during a check-in: each question with its buttons, the summary of the
answers, and the advice for the triage level. Wording lives in services, not handlers, because
the same screens are sent by the dispatcher (a scheduled question, a reminder) and shown by the
handlers (a press), and must read the same in both."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from bot.db.models import Checkin, Patient
from bot.domain import triage
from bot.domain.checkin import CheckinStage, Refusal
from bot.domain.protocol import CLOSER_WATCH_KEY, Step
from bot.domain.triage import FLAGS, SYMPTOMS, Assessment, Level, Severity
from bot.i18n import N_
from bot.services import buttons
from bot.services.context import Context
from bot.services.ports import Buttons
from bot.services.protocols import step_text
from bot.services.vocabulary import (
    ADVICE,
    FLAG_DESCRIPTIONS,
    FLAG_LABELS,
    SEVERITY_LABELS,
    SYMPTOM_LABELS,
)

REFUSALS = {
    Refusal.ANSWERED: N_("That question has already been answered."),
    Refusal.STALE: N_("This button no longer works."),
}


@dataclass(frozen=True)
class Screen:
    """One message's content: what to show the patient, with its buttons."""

    text: str
    buttons: Buttons | None = None


@dataclass
class Reply:
    """What a press or a message led to, for the handler to show."""

    notice: str | None = None  # a short toast on the pressed button
    edit: Screen | None = None  # new content for the message whose button was pressed
    send: list[Screen] = field(default_factory=list)  # new messages, in order
    checkin_id: int | None = None  # set when `send` starts a check-in question
    answered: bool = False  # what the patient wrote answered the open question
    # the press was applied before a restart: `send` only goes out when `edit` changed the
    # message, i.e. the first handling stopped before its edit (and so before its sends)
    replayed: bool = False


def _pt(ctx: Context, lang: str, msgid: str, **params: object) -> str:
    return ctx.i18n.t(lang, msgid, **params)


def question(ctx: Context, checkin: Checkin, patient: Patient, step: Step | None = None) -> Screen:
    """The current question of an open check-in, with its buttons; `step` is the protocol step
    that asked it, for its wording of the first question."""
    lang, sign, ref = patient.language, ctx.signer, checkin.id
    stage = checkin.stage
    if stage == CheckinStage.OVERALL:
        text = _overall_text(ctx, patient, step)
        return Screen(
            text,
            [
                [
                    (_pt(ctx, lang, "All good"), buttons.AllGood(ref).pack(sign)),
                    (_pt(ctx, lang, "I have symptoms"), buttons.HasSymptoms(ref).pack(sign)),
                ]
            ],
        )
    if stage == CheckinStage.SYMPTOMS:
        chosen = set(checkin.symptoms)
        labels = [
            (
                ("✓ " if name in chosen else "") + _pt(ctx, lang, SYMPTOM_LABELS[name]),
                buttons.ToggleSymptom(ref, name).pack(sign),
            )
            for name in SYMPTOMS
        ]
        rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
        rows.append([(_pt(ctx, lang, "Done"), buttons.SymptomsDone(ref).pack(sign))])
        text = _pt(
            ctx,
            lang,
            "Which of these do you notice on your skin? Tap all that apply, then Done "
            "(just Done if none).",
        )
        return Screen(text, rows)
    if stage == CheckinStage.SEVERITY:
        symptom = next((s for s in checkin.symptoms if s not in checkin.severities), None)
        if symptom is None:
            raise ValueError(f"check-in {checkin.id} has every symptom rated")
        rates = [
            (_pt(ctx, lang, label), buttons.Rate(ref, int(level)).pack(sign))
            for level, label in SEVERITY_LABELS.items()
        ]
        text = _pt(
            ctx,
            lang,
            "How strong is it now: {symptom}?",
            symptom=_pt(ctx, lang, SYMPTOM_LABELS[symptom]).lower(),
        )
        return Screen(text, [rates[:3], rates[3:]])
    if stage == CheckinStage.FLAGS:
        chosen = set(checkin.flags)
        lines = [_pt(ctx, lang, "Do you have any of these right now?")]
        lines += [f"• {_pt(ctx, lang, FLAG_DESCRIPTIONS[name])}" for name in FLAGS]
        labels = [
            (
                ("✓ " if name in chosen else "") + _pt(ctx, lang, FLAG_LABELS[name]),
                buttons.ToggleFlag(ref, name).pack(sign),
            )
            for name in FLAGS
        ]
        rows = [[label] for label in labels]
        rows.append(
            [
                (_pt(ctx, lang, "None of these"), buttons.NoFlags(ref).pack(sign)),
                (_pt(ctx, lang, "Done"), buttons.FlagsDone(ref).pack(sign)),
            ]
        )
        lines.append(_pt(ctx, lang, "Tap all that apply, then Done."))
        return Screen("\n".join(lines), rows)
    if stage == CheckinStage.NOTE:
        text = _pt(
            ctx,
            lang,
            "Would you like to add a photo or a few words? Send them now, or tap Skip.",
        )
        return Screen(text, [[(_pt(ctx, lang, "Skip"), buttons.SkipNote(ref).pack(sign))]])
    raise ValueError(f"check-in {checkin.id} has no question at stage {stage}")


def _overall_text(ctx: Context, patient: Patient, step: Step | None) -> str:
    if step is not None and step.key == CLOSER_WATCH_KEY:
        return _pt(
            ctx,
            patient.language,
            "You told us about a problem after your treatment, so we are checking in again. How "
            "is the treated area now?",
        )
    if step is not None:
        return step_text(ctx.i18n, step, patient.language, ctx.clinic.default_language)
    return _pt(
        ctx,
        patient.language,
        "Let's check on your skin. Since your treatment, how is the treated area?",
    )


def closed(ctx: Context, lang: str, checkin_id: int) -> Reply:
    """A press on a check-in that is over: a new one is offered."""
    return Reply(
        notice=_pt(ctx, lang, "This check-in is closed."),
        send=[
            Screen(
                _pt(ctx, lang, "This check-in is closed. Would you like to start a new one?"),
                [
                    [
                        (
                            _pt(ctx, lang, "Start a new check-in"),
                            buttons.NewCheckin(checkin_id).pack(ctx.signer),
                        )
                    ]
                ],
            )
        ],
    )


def reminder(ctx: Context, lang: str, screen: Screen) -> str:
    return _pt(ctx, lang, "A gentle reminder: how is your skin doing?") + "\n\n" + screen.text


def added_to_alert(ctx: Context, lang: str) -> str:
    """The end of a check-in whose danger sign was already answered and alerted."""
    return _pt(
        ctx,
        lang,
        "Thank you. I have added your answers to what the clinic already has. Please follow the "
        "advice above.",
    )


def nudge(ctx: Context, lang: str) -> Screen:
    """Words while a button question is open."""
    return Screen(_pt(ctx, lang, "Please answer with the buttons of the question, here again:"))


def summary(ctx: Context, lang: str, report: triage.Report) -> str:
    if not report.symptoms and not report.flags:
        return _pt(ctx, lang, "Thank you! You answered: all good.")
    parts = [
        f"{_pt(ctx, lang, SYMPTOM_LABELS[name])}: {_pt(ctx, lang, SEVERITY_LABELS[sev]).lower()}"
        for name, sev in report.symptoms.items()
    ]
    parts += [_pt(ctx, lang, FLAG_LABELS[name]) for name in FLAGS if name in report.flags]
    return _pt(ctx, lang, "Thank you! You answered: {answers}.", answers="; ".join(parts))


def urgent_advice(ctx: Context, lang: str) -> str:
    """Call now, by the route that works at this hour: the clinic while it is open, else the
    out-of-hours number, else an urgent-care service or the emergency number."""
    clinic, now = ctx.clinic, ctx.now()
    if clinic.is_open(now):
        return _pt(
            ctx,
            lang,
            "Please call {clinic} now on {phone}: this needs to be looked at today. We have "
            "alerted the clinic's staff too. If you feel very unwell or it gets worse quickly, "
            "call {emergency}.",
            clinic=clinic.name,
            phone=clinic.phone or clinic.name,
            emergency=clinic.emergency_number,
        )
    if clinic.out_of_hours_phone:
        return _pt(
            ctx,
            lang,
            "{clinic} is closed now. Please call the out-of-hours line on {phone} now: this "
            "needs to be looked at today. We have alerted the clinic's staff too. If you feel "
            "very unwell or it gets worse quickly, call {emergency}.",
            clinic=clinic.name,
            phone=clinic.out_of_hours_phone,
            emergency=clinic.emergency_number,
        )
    opens = clinic.next_opening(now)
    when = ctx.i18n.when(lang, opens, clinic.timezone) if opens else ""
    return _pt(
        ctx,
        lang,
        "{clinic} is closed now (it opens again {when}). This needs to be looked at today: "
        "please go to an urgent-care service, or call {emergency} if you feel very unwell or it "
        "gets worse quickly. We have alerted the clinic's staff too.",
        clinic=clinic.name,
        when=when,
        emergency=clinic.emergency_number,
    )


def advice(
    ctx: Context,
    lang: str,
    assessment: Assessment,
    report: triage.Report,
    past: Collection[str] = (),
) -> str:
    """What the patient is told, by level. An emergency starts with the emergency number.
    `past`: symptoms whose usual course is over; their self-care lines (which speak of the usual
    course) give way to saying that the clinic will look at them
    (docs/clinical.md#already-followed)."""
    clinic = ctx.clinic
    phone = clinic.phone or clinic.name
    if assessment.level == Level.EMERGENCY:
        return _pt(
            ctx,
            lang,
            "Please call {emergency} now: what you describe can be a serious reaction that "
            "needs help at once. Do this first, before anything else. We have also alerted "
            "{clinic}.",
            emergency=clinic.emergency_number,
            clinic=clinic.name,
        )
    if assessment.level == Level.URGENT:
        return urgent_advice(ctx, lang)
    care = []
    for name, severity in report.symptoms.items():
        if severity <= Severity.NONE:
            continue
        if name in past:
            care.append(
                _pt(
                    ctx,
                    lang,
                    "{symptom}: this is no longer expected at this point after your treatment, "
                    "so {clinic} will look at it.",
                    symptom=_pt(ctx, lang, SYMPTOM_LABELS[name]),
                    clinic=clinic.name,
                )
            )
        elif name in ADVICE:
            care.append(_pt(ctx, lang, ADVICE[name]))
    if assessment.level == Level.UNUSUAL:
        head = _pt(
            ctx,
            lang,
            "Thank you for telling us. This is a little outside what we usually expect, so "
            "{clinic} will be in touch. Meanwhile:",
            clinic=clinic.name,
        )
        tail = _pt(
            ctx,
            lang,
            "If it gets worse, call {phone}; in an emergency, call {emergency}.",
            phone=phone,
            emergency=clinic.emergency_number,
        )
        return "\n".join([head, *(f"• {c}" for c in care), tail])
    if not care:
        head = _pt(ctx, lang, "Good to hear, thank you! Keep following your aftercare tips.")
    else:
        head = _pt(
            ctx,
            lang,
            "Thank you. What you describe is expected after this treatment and "
            "should settle on its own. What helps:",
        )
    tail = _pt(
        ctx,
        lang,
        "Write to me with /checkin whenever something changes, or if it is not better in a "
        "day or two. Worried? Call {phone}; in an emergency, call {emergency}.",
        phone=phone,
        emergency=clinic.emergency_number,
    )
    return "\n".join([head, *(f"• {c}" for c in care), tail])
