"""Senders' limits: a patient past their rate is answered once, not per message, and told again
only after a calm; people who are not linked are answered at most once a minute each and a few
times a minute all together."""

from __future__ import annotations

import datetime as dt

from bot.clock import FrozenClock
from bot.services import inbox, intake, staff
from bot.services.context import Context
from bot.services.intake import Flood, IntakeLimits
from tests.services.helpers import active_patient
from tests.services.test_update_chats import text

LIMITS = IntakeLimits(per_minute=5, strangers_per_minute=3)
PATIENT = 100


async def judged(ctx: Context, first: int, count: int, chat: int = PATIENT) -> list[Flood]:
    """`count` messages from `chat`, stored at once and judged in order."""
    ids = range(first, first + count)
    await inbox.store(ctx, [text(n, chat) for n in ids])
    return [await intake.judge_words(ctx, LIMITS, n) for n in ids]


async def test_past_the_rate_a_patient_is_told_once_then_not_again_while_it_goes_on(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, PATIENT)

    verdicts = await judged(ctx, 1, 12)

    assert verdicts == [Flood.NO] * 5 + [Flood.TELL] + [Flood.QUIET] * 6
    # a minute on, still writing fast: the same flood, nothing more said
    clock.advance(dt.timedelta(minutes=1))
    assert await judged(ctx, 13, 7) == [Flood.NO] * 5 + [Flood.QUIET] * 2


async def test_a_new_flood_after_a_calm_is_told_again(ctx: Context, clock: FrozenClock) -> None:
    await active_patient(ctx, PATIENT)
    assert await judged(ctx, 1, 7) == [Flood.NO] * 5 + [Flood.TELL, Flood.QUIET]

    clock.advance(LIMITS.calm + dt.timedelta(seconds=1))

    assert await judged(ctx, 8, 7) == [Flood.NO] * 5 + [Flood.TELL, Flood.QUIET]


async def test_a_message_at_the_usual_pace_is_never_held_back(
    ctx: Context, clock: FrozenClock
) -> None:
    await active_patient(ctx, PATIENT)
    verdicts = []
    for n in range(1, 31):
        verdicts += await judged(ctx, n, 1)
        clock.advance(dt.timedelta(seconds=13))  # under 5 a minute
    assert set(verdicts) == {Flood.NO}


async def test_each_patient_has_their_own_limit(ctx: Context) -> None:
    await active_patient(ctx, PATIENT)
    await active_patient(ctx, 200, name="Ben")
    assert (await judged(ctx, 1, 6))[-1] == Flood.TELL
    assert await judged(ctx, 7, 5, chat=200) == [Flood.NO] * 5


async def test_a_message_judged_again_after_a_restart_gets_its_verdict_and_no_second_notice(
    ctx: Context,
) -> None:
    await active_patient(ctx, PATIENT)
    first = await judged(ctx, 1, 7)

    again = [await intake.judge_words(ctx, LIMITS, n) for n in range(1, 8)]

    assert first[5] == Flood.TELL
    assert again == [Flood.NO] * 5 + [Flood.QUIET] * 2


async def test_a_message_not_from_the_inbox_is_answered(ctx: Context) -> None:
    assert await intake.judge_words(ctx, LIMITS, 12345) == Flood.NO
    assert await intake.may_answer_stranger(ctx, LIMITS, 12345, 900)


async def test_a_stranger_is_answered_at_most_once_a_minute(
    ctx: Context, clock: FrozenClock
) -> None:
    await inbox.store(ctx, [text(n, 900) for n in range(1, 4)])
    answered = [await intake.may_answer_stranger(ctx, LIMITS, n, 900) for n in range(1, 4)]
    clock.advance(dt.timedelta(minutes=1, seconds=1))
    await inbox.store(ctx, [text(4, 900)])

    assert answered == [True, False, False]
    assert await intake.may_answer_stranger(ctx, LIMITS, 4, 900)
    # handled again after a restart: not answered twice
    assert not await intake.may_answer_stranger(ctx, LIMITS, 4, 900)


async def test_strangers_all_together_get_a_few_answers_a_minute(
    ctx: Context, clock: FrozenClock
) -> None:
    strangers = list(range(900, 905))
    await inbox.store(ctx, [text(n, user) for n, user in enumerate(strangers, start=1)])
    answered = [
        await intake.may_answer_stranger(ctx, LIMITS, n, user)
        for n, user in enumerate(strangers, start=1)
    ]
    assert answered == [True, True, True, False, False]

    clock.advance(dt.timedelta(minutes=1, seconds=1))
    await inbox.store(ctx, [text(10, 904)])
    assert await intake.may_answer_stranger(ctx, LIMITS, 10, 904)


async def test_someone_linked_since_their_message_arrived_is_always_handled(
    ctx: Context,
) -> None:
    await inbox.store(ctx, [text(1, 900), text(2, 900), text(3, 901), text(4, 901)])
    assert await intake.may_answer_stranger(ctx, LIMITS, 1, 900)
    assert await intake.may_answer_stranger(ctx, LIMITS, 3, 901)
    await active_patient(ctx, 900)
    await staff.add_staff(ctx, 901, "Nurse Joy", "nurse")

    assert await intake.may_answer_stranger(ctx, LIMITS, 2, 900)
    assert await intake.may_answer_stranger(ctx, LIMITS, 4, 901)
