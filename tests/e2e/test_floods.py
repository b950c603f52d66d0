"""Floods: nobody writing fast holds up anyone else. A stranger's texts and a patient's flood are
handled in their own chat while other chats go on; the flooding patient is answered once and
every message reaches staff; each chat's updates are handled one at a time and in order, also by
two processes taking webhook posts side by side.

Telegram's limits are on, on real time (the `thousand` harness), as a flood would meet them.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot import app
from bot.config import Settings
from bot.db.models import InboundUpdate, UpdateStatus
from bot.services import sessions
from telegram_standin import Fault
from tests.conftest import T0, TOKEN
from tests.e2e.conftest import PATIENT, STAFF_CHAT, STRANGER, Harness, running_bot
from tests.e2e.test_webhook import Balancer, free_port, hook_at
from tests.services.helpers import active_patient

OTHER = 9002  # a second patient
FLOODED = "I have your messages; the clinic will read them all."


async def handled(h: Harness, count: int, timeout: float = 60.0) -> dict[int, InboundUpdate]:
    """Every stored update once `count` are stored and all handled (each row's processed_at is
    when it was finished)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with h.ctx.db() as db:
            rows = (await db.execute(select(InboundUpdate))).scalars().all()
        if len(rows) >= count and all(r.status == UpdateStatus.DONE for r in rows):
            return {r.update_id: r for r in rows}
        if loop.time() > deadline:
            waiting = sum(r.status != UpdateStatus.DONE for r in rows)
            raise TimeoutError(f"{len(rows)} stored, {waiting} not handled")
        await asyncio.sleep(0.1)


def after(rows: dict[int, InboundUpdate], ids: list[int], update_id: int) -> int:
    """How many of `ids` were finished after update `update_id` was."""
    done = rows[update_id].processed_at
    assert done is not None
    return sum(1 for n in ids if (rows[n].processed_at or done) > done)


async def test_a_strangers_hundred_texts_do_not_hold_up_a_patients_help(
    thousand: Harness,
) -> None:
    """Before: the stranger got an answer a second for each text, one after the other, and the
    patient's /help was answered after all of them (104 s)."""
    h = thousand
    await active_patient(h.ctx, PATIENT)
    flood = [h.standin.send_text(STRANGER, f"hello {n}") for n in range(100)]
    asked = h.standin.send_text(PATIENT, "/help")

    await h.standin.wait_for(lambda: bool(h.standin.sent_to(PATIENT)), timeout=30)
    rows = await handled(h, 101)

    # the patient's question was done while most of the stranger's texts still waited
    still_waiting = after(rows, flood, asked)
    print(f"{still_waiting} of the stranger's 100 texts were handled after the patient's /help")
    assert still_waiting >= 50
    assert "/checkin" in (h.standin.sent_to(PATIENT)[0].text or "")
    # every text stored; the stranger answered once, not a hundred times
    assert set(flood) <= set(rows)
    [answer] = h.standin.sent_to(STRANGER)
    assert "personal link" in (answer.text or "")


async def test_a_patient_flooding_does_not_hold_up_another_patients_press(
    thousand: Harness,
) -> None:
    """Before: the other patient's press waited behind all 200 messages."""
    h = thousand
    h.standin.add_user(OTHER, "Ben")
    await active_patient(h.ctx, PATIENT)
    await active_patient(h.ctx, OTHER, name="Ben")
    h.standin.send_text(OTHER, "/checkin")
    [question] = await h.standin.wait_for_messages(OTHER, 1)
    await handled(h, 1)

    flood = [h.standin.send_text(PATIENT, f"note {n:03d}") for n in range(200)]
    pressed = h.standin.press(OTHER, question.message_id, question.callback_data("All good"))

    await h.standin.wait_for(lambda: bool(h.standin.callback_answers), timeout=30)
    rows = await handled(h, 202)

    still_waiting = after(rows, flood, pressed)
    print(f"{still_waiting} of the 200 messages were handled after the other patient's press")
    assert still_waiting >= 100


async def test_a_flooding_patient_is_answered_once_and_every_message_reaches_staff(
    thousand: Harness,
) -> None:
    """Before: no answer said the clinic had them all; past the first, the flood went unanswered
    or, with an edit among it, each edit was answered."""
    h = thousand
    await active_patient(h.ctx, PATIENT, name="Anna Smith")
    words = [f"note{n:03d}" for n in range(200)]
    sent = [h.standin.send_text(PATIENT, word) for word in words]
    last = [e for e in h.standin.transcript if e.user_id == PATIENT and e.kind == "text"][-1]
    assert last.message_id is not None
    h.standin.edit_text(PATIENT, last.message_id, "note199 again")

    rows = await handled(h, 201)

    def staff_read(word: str) -> bool:
        return any(word in (m.text or "") for m in h.standin.sent_to(STAFF_CHAT))

    await h.standin.wait_for(lambda: all(staff_read(w) for w in words), timeout=60)
    assert set(sent) <= set(rows)  # every one stored, and handled
    await asyncio.sleep(1.5)  # anything more for the patient would have arrived by now
    answers = [m.text or "" for m in h.standin.sent_to(PATIENT)]
    # the first message is acknowledged as ever; past the rate, one answer for all the rest
    assert sum(FLOODED in a for a in answers) == 1, answers
    assert len(answers) == 2, answers


async def test_two_processes_handle_each_chats_updates_one_at_a_time_and_in_order(
    settings: Settings,
) -> None:
    balancer = Balancer()
    await balancer.start()
    first = hook_at(free_port(), url_port=balancer.port)
    loop = asyncio.get_running_loop()
    # (chat, update_id) → when handling began and ended, whichever process handled it
    began: dict[tuple[int, int], float] = {}
    ended: dict[tuple[int, int], float] = {}

    def note(times: dict[tuple[int, int], float]) -> Any:
        async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_chat is not None
            times[(update.effective_chat.id, update.update_id)] = loop.time()

        return record

    def watch(application: app.App) -> None:
        application.add_handler(TypeHandler(Update, note(began)), group=-1)
        application.add_handler(TypeHandler(Update, note(ended)), group=1)

    chats = [PATIENT, OTHER, 9003, 9004]
    try:
        async with running_bot(settings, real_time_limits=False, webhook=first) as h:
            watch(h.runtime.application)
            second = hook_at(free_port(), url_port=balancer.port)
            opened = app.open_context(h.settings, h.clock)
            ctx = await opened.__aenter__()
            other = app.Runtime(app.build_application(h.settings, TOKEN, ctx), ctx, second)
            watch(other.application)
            try:
                await other.start()
                balancer.backends = [
                    f"http://127.0.0.1:{hook.port}{hook.path}" for hook in (first, second)
                ]
                for chat in chats:
                    if chat != PATIENT:
                        h.standin.add_user(chat, f"P{chat}")
                    await active_patient(h.ctx, chat, name=f"P{chat}")
                sent: dict[int, list[int]] = collections.defaultdict(list)
                for n in range(15):  # fewer than a patient's 20 a minute
                    for chat in chats:
                        sent[chat].append(h.standin.send_text(chat, f"part {n}"))
                await handled(h, 60, timeout=30)
            finally:
                await other.stop()
                await opened.__aexit__(None, None, None)
    finally:
        await balancer.stop()

    assert sorted(balancer.taken.values()) == [30, 30]
    for chat in chats:
        keys = sorted((k for k in began if k[0] == chat), key=began.__getitem__)
        assert [update_id for _, update_id in keys] == sent[chat]  # in order
        overlaps = [(a, b) for a, b in itertools.pairwise(keys) if began[b] < ended[a]]
        assert overlaps == []  # one at a time


async def test_danger_words_in_a_flood_are_still_answered_and_alerted(thousand: Harness) -> None:
    h = thousand
    patient = await active_patient(h.ctx, PATIENT, name="Anna Smith")
    await sessions.add_session(h.ctx, str(patient.id), "face", T0 - dt.timedelta(hours=2))
    for n in range(40):
        h.standin.send_text(PATIENT, f"note{n:03d}")
    h.standin.send_text(PATIENT, "I cant breathe properly and my lips are swelling up")

    await h.standin.wait_for(
        lambda: any("Please call 112 now" in (m.text or "") for m in h.standin.sent_to(PATIENT)),
        timeout=30,
    )
    await h.standin.wait_for(
        lambda: any(
            (m.text or "").startswith("🚨 EMERGENCY") for m in h.standin.sent_to(STAFF_CHAT)
        ),
        timeout=30,
    )
    answers = [m.text or "" for m in h.standin.sent_to(PATIENT)]
    assert sum(FLOODED in a for a in answers) == 1, answers


async def test_an_update_cut_short_by_a_stop_is_given_back_and_handled_at_once(
    harness: Harness,
) -> None:
    """Before: it stayed claimed for the lease (5 minutes), and with it the rest of its chat."""
    h = harness
    await active_patient(h.ctx, PATIENT)
    h.standin.fail_next("sendMessage", Fault.slow(5.0), chat_id=PATIENT)
    asked = h.standin.send_text(PATIENT, "/help")
    await h.standin.wait_for(lambda: h.runtime.updates.in_hand == 1)
    await asyncio.sleep(0.2)  # its answer is on its way, held by Telegram

    await h.runtime.updates.stop(grace=0.1)

    async with h.ctx.db() as db:
        row = await db.get(InboundUpdate, asked)
    assert row is not None and row.status == UpdateStatus.RECEIVED
    before = len(h.standin.sent_to(PATIENT))
    await h.restart()
    await h.standin.wait_for_messages(PATIENT, before + 1)
    assert (await handled(h, 1))[asked].status == UpdateStatus.DONE


async def test_one_chats_paced_answers_do_not_hold_up_another_chats(thousand: Harness) -> None:
    """Telegram takes one message a second per chat: ten answers for one patient take ten
    seconds, and the handler waiting for each slot holds up only its own chat. Before: the
    other patient's /help waited for all ten."""
    h = thousand
    h.standin.add_user(OTHER, "Ben")
    await active_patient(h.ctx, PATIENT)
    await active_patient(h.ctx, OTHER, name="Ben")
    for _ in range(10):
        h.standin.send_text(PATIENT, "/help")
    h.standin.send_text(OTHER, "/help")

    [answer] = await h.standin.wait_for_messages(OTHER, 1, timeout=30)
    await h.standin.wait_for_messages(PATIENT, 10, timeout=30)

    paced = [m.at for m in h.standin.sent_to(PATIENT)]
    assert all(b - a >= dt.timedelta(seconds=0.9) for a, b in itertools.pairwise(paced[2:]))
    # the other patient was answered while most of the first one's answers still waited
    assert sum(at > answer.at for at in paced) >= 5, (answer.at, paced)
