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
from bot.services import patients, sessions
from bot.services.context import Context

PATIENT_USER_ID = 700001
STAFF_CHAT_ID = -100200300
ZONE = "Europe/Paris"
# Simulated seconds per real second: the whole plan (three days before the session to the
# next-session reminder about ten days after it) plays out in about half a minute.
DEFAULT_SPEED = 50_000.0
REAL_TIME_LIMIT = 55.0


def _start_of_demo(zone: ZoneInfo) -> dt.datetime:
    """Today at 09:00 in the clinic's zone, so the transcript reads like a real week."""
    local = dt.datetime.now(zone).replace(hour=9, minute=0, second=0, microsecond=0)
    return local.astimezone(dt.UTC)


async def run_demo(speed: float | None, treatment: str, language: str) -> None:
    # The stand-in lives with the tests; it is imported only here, where the demo needs it.
    from tests.standin import StandIn

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
            _print_transcript(standin, zone)


async def _journey(
    ctx: Context,
    standin: object,
    clock: ScaledClock,
    treatment: str,
    language: str,
    zone: ZoneInfo,
) -> None:
    from tests.standin import StandIn

    assert isinstance(standin, StandIn)
    started = time.monotonic()
    patient = await patients.add_patient(ctx, "Camille Martin", language, ZONE)
    link = await patients.create_invite(ctx, str(patient.id))
    session_start = clock.now().astimezone(zone).replace(hour=10, minute=30) + dt.timedelta(days=4)
    plan = await sessions.add_session(ctx, str(patient.id), treatment, session_start)
    click.echo(
        f"Demo: {ctx.clinic.name}; patient Camille ({ZONE}); {treatment} session on "
        f"{ctx.i18n.when(language, plan.session.starts_at, ZONE)}; clock ×{clock.speed:g}."
    )
    click.echo(f"Invite link printed for the clinic: {link.link}\n")
    token = link.link.split("start=", 1)[1]
    standin.send_text(PATIENT_USER_ID, f"/start {token}")
    consent = (await standin.wait_for_messages(PATIENT_USER_ID, 1, timeout=15))[0]
    assert consent.reply_markup is not None
    data = consent.reply_markup["inline_keyboard"][0][0]["callback_data"]
    standin.press(PATIENT_USER_ID, consent.message_id, data)
    await standin.wait_for_messages(PATIENT_USER_ID, 2, timeout=15)
    standin.send_text(PATIENT_USER_ID, "/schedule")
    await standin.wait_for_messages(PATIENT_USER_ID, 3, timeout=15)

    async def plan_done() -> bool:
        view = await patients.show_patient(ctx, str(patient.id))
        return all(m.status != MessageStatus.PENDING for m in view.messages)

    while not await plan_done():
        if time.monotonic() - started > REAL_TIME_LIMIT:
            click.echo("(demo stopped at its time limit before the plan finished)")
            return
        await asyncio.sleep(0.1)


def _print_transcript(standin: object, zone: ZoneInfo) -> None:
    from tests.standin import StandIn

    assert isinstance(standin, StandIn)
    click.echo("Transcript (patient's local time):")
    for entry in standin.transcript:
        when = entry.at.astimezone(zone).strftime("%a %d %b %H:%M")
        lines = entry.text.splitlines() or [""]
        click.echo(f"{when}  {entry.who}: {lines[0]}")
        for line in lines[1:]:
            click.echo(f"{'':18}{line}")
    click.echo("\nThe demo ran on a temporary database; nothing was kept.")
