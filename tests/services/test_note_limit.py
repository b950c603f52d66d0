"""A patient's words are kept whole with their check-in, later ones too, up to a generous limit;
past it they are told (issue 11, item 11)."""

from __future__ import annotations

import datetime as dt

from bot.db.models import Checkin
from bot.services import checkins
from bot.services.checkins.opening import NOTE_LIMIT, joined
from bot.services.context import Context
from tests.conftest import T0
from tests.services.helpers import active_patient, with_session

USER = 6001
TOLD = "more than I can keep with one check-in"


def words(i: int) -> str:
    """One long message (Telegram's most is 4,096 characters)."""
    return f"[{i}] " + "my cheek is still warm and a bit swollen; " * 95


def test_every_word_is_kept_up_to_the_limit_later_words_too() -> None:
    note = None
    for i in range(4):
        note = joined(note, words(i))
    assert note == "\n".join(words(i) for i in range(4))
    assert NOTE_LIMIT >= 20_000 > len(note) > 2_000


async def test_words_past_the_limit_are_left_out_and_the_patient_is_told(ctx: Context) -> None:
    patient = await active_patient(ctx, USER)
    await with_session(ctx, patient, T0 - dt.timedelta(hours=20))
    started = await checkins.start(ctx, USER, note=words(0))
    assert started is not None and started.checkin_id is not None
    assert not any(TOLD in s.text for s in started.send)
    replies = []
    for i in range(1, 6):
        reply = await checkins.write(ctx, USER, words(i), None)
        assert reply is not None
        replies.append(any(TOLD in s.text for s in reply.send))
    # told when the words went past the limit
    assert replies == [False, False, False, False, True]
    async with ctx.db() as db:
        checkin = await db.get(Checkin, started.checkin_id)
    assert checkin is not None and checkin.note is not None
    assert len(checkin.note) == NOTE_LIMIT
    # the earlier words are all there, the later ones as far as they fit
    assert checkin.note.startswith("\n".join(words(i) for i in range(5)))
