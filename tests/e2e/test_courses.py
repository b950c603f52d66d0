"""A course over Telegram: the patient's /schedule says which session of the course each message
is about, once the course has more than one."""

from __future__ import annotations

import datetime as dt

from bot.services import patients, sessions
from tests.conftest import T0
from tests.e2e.conftest import PATIENT, Harness


async def test_the_schedule_names_the_session_of_the_course(harness: Harness) -> None:
    h = harness
    ref = str((await patients.add_patient(h.ctx, "Anna Smith", "en", "Europe/Paris")).id)
    await sessions.add_session(h.ctx, ref, "face", T0 + dt.timedelta(days=1))
    await h.join(ref)
    alone = (await h.reply_to(PATIENT, "/schedule")).text
    assert "of the course" not in alone  # one session: nothing to tell apart
    await sessions.add_session(h.ctx, ref, "face", T0 + dt.timedelta(days=5))
    lines = (await h.reply_to(PATIENT, "/schedule")).text.splitlines()
    assert "• Tue 3 Mar, 10:30 — Care tip (session 1 of the course)" in lines  # right after
    # session 2's reminder the day before it, Friday 10:00 in Paris
    assert "• Fri 6 Mar, 10:00 — Reminder (session 2 of the course)" in lines
