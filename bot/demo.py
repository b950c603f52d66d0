"""`aftercare demo`: the whole journey against the loopback Telegram stand-in, on a fast clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from bot import app
from bot.clock import ScaledClock
from bot.config import Settings
from bot.db.migrate import upgrade_async
from bot.db.models import MessageStatus
from bot.errors import BadInput
from bot.i18n import I18n
from bot.services import patients, sessions, staff
from bot.services.context import Context

# The loopback stand-in is a top-level package of its own, shipped in the wheel for this demo;
# nothing else in the bot imports it (an import-linter contract).
from telegram_standin import SentMessage, StandIn

PATIENT_USER_ID = 700001
NURSE_USER_ID = 700002
STAFF_CHAT_ID = -100200300
ZONE = "Europe/Paris"
# Simulated seconds per real second: the whole plan (three days before the first session to
# the late check-in six weeks after the second) plays out in about half a minute.
DEFAULT_SPEED = 150_000.0
REAL_TIME_LIMIT = 75.0
# The course's second session, a week after the first.
COURSE_GAP = dt.timedelta(days=7)
# What the demo patient asks the clinic between check-ins, in her language.
PATIENT_QUESTION = {
    "en": "Can I put make-up on tomorrow morning?",
    "fr": "Est-ce que je peux me maquiller demain matin ?",
    "es": "¿Puedo maquillarme mañana por la mañana?",
    "ru": "Можно ли мне завтра утром накраситься?",
    "ar": "هل يمكنني وضع المكياج صباح الغد؟",
}
# What the demo patient writes at her first check-in, as a patient would, in her language.
PATIENT_WORDS = {
    "en": "It is quite puffy this evening, is that normal?",
    "fr": "C'est assez gonflé ce soir, est-ce normal ?",
    "es": "Esta noche está bastante hinchado, ¿es normal?",
    "ru": "Вечером довольно сильный отёк, это нормально?",
    "ar": "المنطقة منتفخة قليلاً هذا المساء، هل هذا طبيعي؟",
}


def _start_of_demo(zone: ZoneInfo) -> dt.datetime:
    """Today at 09:00 in the clinic's zone, so the transcript reads like a real week."""
    local = dt.datetime.now(zone).replace(hour=9, minute=0, second=0, microsecond=0)
    return local.astimezone(dt.UTC)


async def run_demo(speed: float | None, treatment: str, language: str) -> None:
    speed = speed or DEFAULT_SPEED
    if speed <= 0:
        raise BadInput("--speed must be a positive number of simulated seconds per real second")
    zone = ZoneInfo(ZONE)
    clock = ScaledClock(speed, start=_start_of_demo(zone))
    with tempfile.TemporaryDirectory(prefix="aftercare-demo-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        await upgrade_async(url)
        async with StandIn(
            clock=clock.now,
            bot_username="aftercare_demo_bot",
            limit_clock=lambda: clock.now().timestamp(),
        ) as standin:
            settings = Settings(
                database_url=url,
                bot_token=standin.token,
                bot_api_url=standin.base_url,
                staff_chat_id=STAFF_CHAT_ID,
                timezone=ZONE,
                clinic_name="Clinique du Parc (demo)",
                clinic_phone="+33 1 40 00 00 00",
                emergency_number="112",
                clock_speed=speed,
                default_language="en",
                bot_username="aftercare_demo_bot",
                _env_file=None,
            )
            standin.add_user(PATIENT_USER_ID, "Camille", language_code=language)
            standin.add_user(NURSE_USER_ID, "Joy", language_code="en")
            standin.add_group(STAFF_CHAT_ID, "Clinic staff")
            async with app.open_context(settings, clock) as ctx:
                if language not in ctx.i18n.languages:
                    shipped = ", ".join(ctx.i18n.languages)
                    raise BadInput(f"--language {language!r} is not shipped (shipped: {shipped})")
                ctx.protocol(treatment)
                runtime = app.Runtime(app.build_application(settings, standin.token, ctx), ctx)
                await runtime.start()
                try:
                    await _journey(ctx, standin, clock, treatment, language, zone)
                finally:
                    await runtime.stop()
            _print_transcript(standin, zone, ctx.i18n, language)


async def _journey(
    ctx: Context,
    standin: StandIn,
    clock: ScaledClock,
    treatment: str,
    language: str,
    zone: ZoneInfo,
) -> None:
    started = time.monotonic()
    patient = await patients.add_patient(ctx, "Camille Martin", language, ZONE)
    await staff.add_staff(ctx, NURSE_USER_ID, "Nurse Joy", "nurse")
    link = await patients.create_invite(ctx, str(patient.id))
    session_start = clock.now().astimezone(zone).replace(hour=10, minute=30) + dt.timedelta(days=4)
    plan = await sessions.add_session(ctx, str(patient.id), treatment, session_start)
    second = await sessions.add_session(ctx, str(patient.id), treatment, session_start + COURSE_GAP)
    click.echo(
        f"Demo: {ctx.clinic.name}; patient Camille ({ZONE}); a course of two {treatment} "
        f"sessions, {ctx.i18n.when(language, plan.session.starts_at, ZONE)} and "
        f"{ctx.i18n.when(language, second.session.starts_at, ZONE)}; clock ×{clock.speed:g}."
    )
    click.echo(f"Invite link printed for the clinic: {link.link}\n")
    token = link.link.split("start=", 1)[1]
    people = _People(standin, clock, ctx, language)
    standin.send_text(PATIENT_USER_ID, f"/start {token}")
    consent = (await standin.wait_for_messages(PATIENT_USER_ID, 1, timeout=15))[0]
    await people.tap(PATIENT_USER_ID, consent, consent.buttons[0]["text"])
    await standin.wait_for_messages(PATIENT_USER_ID, 2, timeout=15)
    standin.send_text(PATIENT_USER_ID, "/schedule")
    await standin.wait_for_messages(PATIENT_USER_ID, 3, timeout=15)

    async def plan_done() -> bool:
        view = await patients.show_patient(ctx, str(patient.id))
        return all(m.status != MessageStatus.PENDING for m in view.messages)

    answered: set[int] = set()
    flagged = asked = False
    while not await plan_done():
        if time.monotonic() - started > REAL_TIME_LIMIT:
            click.echo("(demo stopped at its time limit before the plan finished)")
            return
        question = _unanswered_checkin(standin, answered, people.label("I have symptoms"))
        if question is not None:
            answered.add(question.message_id)
            if len(answered) == 1:
                await people.report_swelling(question)
            elif clock.now() >= second.session.starts_at and not flagged:
                # after the second session: a fever, reported alone
                await people.report_fever(question)
                flagged = True
            else:
                await people.tap(PATIENT_USER_ID, question, people.label("All good"))
        elif flagged and not asked:
            await people.ask_a_question()
            asked = True
        await asyncio.sleep(0.02)


def _unanswered_checkin(
    standin: StandIn, answered: set[int], symptoms_label: str
) -> SentMessage | None:
    for message in standin.sent_to(PATIENT_USER_ID):
        texts = [b.get("text") for b in message.buttons]
        if symptoms_label in texts and message.message_id not in answered:
            return message
    return None


class _People:
    """The patient and the nurse of the demo, pressing buttons and typing like people do."""

    # Simulated seconds per real second while someone is typing, so the transcript shows
    # minutes rather than hours between their taps.
    TYPING_SPEED = 60.0

    def __init__(self, standin: StandIn, clock: ScaledClock, ctx: Context, language: str) -> None:
        self.standin, self.clock, self.ctx, self.language = standin, clock, ctx, language

    def label(self, msgid: str) -> str:
        """A button's label as the patient sees it, in their language."""
        return self.ctx.i18n.t(self.language, msgid)

    async def tap(
        self, user_id: int, message: SentMessage, button: str, chat_id: int | None = None
    ) -> None:
        answers = len(self.standin.callback_answers)
        self.standin.press(
            user_id, message.message_id, message.callback_data(button), chat_id=chat_id
        )
        await self.standin.wait_for(lambda: len(self.standin.callback_answers) > answers)
        await asyncio.sleep(0.1)

    def latest(self, chat_id: int) -> SentMessage:
        return self.standin.sent_to(chat_id)[-1]

    def typing(self) -> float:
        """People type slowly: the clock slows down while they do; returns the speed to resume."""
        fast = self.clock.speed
        self.clock.set_speed(self.TYPING_SPEED)
        self.ctx.wake()
        return fast

    def done_typing(self, fast: float) -> None:
        self.clock.set_speed(fast)
        self.ctx.wake()

    async def nurse_takes(self, alert: SentMessage, outcome: str) -> None:
        """Nurse Joy acknowledges the alert, then resolves it with an outcome."""
        s = self.standin
        await asyncio.sleep(0.5)
        await self.tap(NURSE_USER_ID, alert, "Acknowledge", chat_id=STAFF_CHAT_ID)
        await self.tap(NURSE_USER_ID, alert, "Resolve", chat_id=STAFF_CHAT_ID)
        asked = next(m for m in reversed(s.sent_to(STAFF_CHAT_ID)) if m.buttons)
        await self.tap(NURSE_USER_ID, asked, outcome, chat_id=STAFF_CHAT_ID)

    async def report_fever(self, question: SentMessage) -> None:
        """A danger sign alone: the advice comes at the press, the alert with it."""
        fast = self.typing()
        s, me = self.standin, PATIENT_USER_ID
        alerts = len([m for m in s.sent_to(STAFF_CHAT_ID) if m.buttons])
        await self.tap(me, question, self.label("I have symptoms"))
        await self.tap(me, self.latest(me), self.label("Fever or chills"))
        await s.wait_for(lambda: bool(self.latest(me).buttons), timeout=15)
        for button in ("Done", "Done", "Skip"):  # no other sign, no skin symptom, no note
            await self.tap(me, self.latest(me), self.label(button))
        await s.wait_for(
            lambda: len([m for m in s.sent_to(STAFF_CHAT_ID) if m.buttons]) > alerts, timeout=15
        )
        alert = [m for m in s.sent_to(STAFF_CHAT_ID) if m.buttons][alerts]
        await self.nurse_takes(alert, "called the patient")
        self.done_typing(fast)

    async def ask_a_question(self) -> None:
        """A question typed between check-ins reaches the staff chat; Joy answers by replying."""
        fast = self.typing()
        s, me = self.standin, PATIENT_USER_ID
        staff_before = len(s.sent_to(STAFF_CHAT_ID))
        s.send_text(me, PATIENT_QUESTION.get(self.language, PATIENT_QUESTION["en"]))
        await s.wait_for(lambda: len(s.sent_to(STAFF_CHAT_ID)) > staff_before, timeout=15)
        wrote = s.sent_to(STAFF_CHAT_ID)[staff_before]
        await asyncio.sleep(0.5)
        before = len(s.sent_to(me))
        s.send_text(
            NURSE_USER_ID,
            "Yes, from tomorrow morning a light make-up is fine. Use a clean brush. Joy",
            chat_id=STAFF_CHAT_ID,
            reply_to_message_id=wrote.message_id,
        )
        await s.wait_for(
            lambda: any("Joy" in (m.text or "") for m in s.sent_to(me)[before:]), timeout=15
        )
        self.done_typing(fast)

    async def report_swelling(self, question: SentMessage) -> None:
        fast = self.typing()
        s, me = self.standin, PATIENT_USER_ID
        await self.tap(me, question, self.label("I have symptoms"))
        for button in ("None of these", "Swelling", "Done", "Severe"):
            await self.tap(me, self.latest(me), self.label(button))
        before = len(s.sent_to(me))
        s.send_text(me, PATIENT_WORDS.get(self.language, PATIENT_WORDS["en"]))
        await s.wait_for_messages(me, before + 1, timeout=15)
        await s.wait_for(lambda: any(m.buttons for m in s.sent_to(STAFF_CHAT_ID)), timeout=15)
        alert = next(m for m in s.sent_to(STAFF_CHAT_ID) if m.buttons)
        await asyncio.sleep(0.5)
        await self.tap(NURSE_USER_ID, alert, "Acknowledge", chat_id=STAFF_CHAT_ID)
        before = len(s.sent_to(me))
        s.send_text(
            NURSE_USER_ID,
            "Hello Camille, this is Joy. Some swelling tonight is common; keep a cold compress "
            "on it for 10 minutes at a time. I will call you tomorrow morning.",
            chat_id=STAFF_CHAT_ID,
            reply_to_message_id=alert.message_id,
        )
        await s.wait_for_messages(me, before + 1, timeout=15)
        await self.tap(NURSE_USER_ID, alert, "Resolve", chat_id=STAFF_CHAT_ID)
        # the question with the outcomes ("Sent to Camille …" may come in after it)
        outcome = next(m for m in reversed(s.sent_to(STAFF_CHAT_ID)) if m.buttons)
        await self.tap(NURSE_USER_ID, outcome, "called the patient", chat_id=STAFF_CHAT_ID)
        self.done_typing(fast)


def _print_transcript(standin: StandIn, zone: ZoneInfo, i18n: I18n, language: str) -> None:
    click.echo("Transcript (patient's local time):")
    for entry in standin.transcript:
        when = i18n.when(language, entry.at, str(zone), "EEE d MMM HH:mm")
        if entry.chat_id == STAFF_CHAT_ID:
            who = "bot → staff chat" if entry.who == "bot" else f"{entry.who} (staff chat)"
        elif entry.chat_id == NURSE_USER_ID:
            who = "bot → Joy (direct)" if entry.who == "bot" else entry.who
        else:
            who = "bot → Camille" if entry.who == "bot" else entry.who
        lines = entry.text.splitlines() or [""]
        click.echo(f"{when}  {who}: {lines[0]}")
        for line in lines[1:]:
            click.echo(f"{'':19}{line}")
    click.echo("\nThe demo ran on a temporary database; nothing was kept.")
