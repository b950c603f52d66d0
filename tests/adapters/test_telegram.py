"""The Telegram adapter's reading of failures, over real HTTP against the stand-in: what is
safe to retry, what may have arrived, and what means Telegram cannot be reached at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.adapters.pacing import Pacing
from bot.adapters.ratelimit import RateLimiter
from bot.adapters.telegram import CUT_MARK, TelegramSender, fit_text
from bot.errors import PermanentDeliveryError, TransientDeliveryError, UncertainDelivery
from telegram_standin import Fault, StandIn
from tests.conftest import TOKEN

USER = 4242
STAFF = -4343


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with StandIn(token=TOKEN) as running:
        running.add_user(USER)
        yield running


@pytest.fixture
async def sender(standin: StandIn) -> AsyncIterator[TelegramSender]:
    request = HTTPXRequest(read_timeout=1.0, connect_timeout=1.0)
    pacing = Pacing(RateLimiter())
    async with ExtBot(TOKEN, base_url=standin.api_url, request=request, rate_limiter=pacing) as bot:
        yield TelegramSender(bot)


async def test_a_refused_connection_means_telegram_is_unreachable(
    standin: StandIn, sender: TelegramSender
) -> None:
    await standin.go_offline()
    with pytest.raises(TransientDeliveryError) as failed:
        await sender.send(USER, "hello")
    assert failed.value.unreachable and failed.value.retry_after is None
    await standin.go_online()
    assert await sender.send(USER, "hello again") > 0


async def test_a_server_error_is_retried_but_telegram_is_reachable(
    standin: StandIn, sender: TelegramSender
) -> None:
    standin.fail_next("sendMessage", Fault.server_error(502))
    with pytest.raises(TransientDeliveryError) as failed:
        await sender.send(USER, "hello")
    assert not failed.value.unreachable


async def test_flood_control_carries_its_wait(standin: StandIn, sender: TelegramSender) -> None:
    standin.fail_next("sendMessage", Fault.retry_after(7))
    with pytest.raises(TransientDeliveryError) as failed:
        await sender.send(USER, "hello")
    assert failed.value.retry_after == 7 and not failed.value.unreachable


async def test_a_connection_lost_after_sending_may_have_delivered(
    standin: StandIn, sender: TelegramSender
) -> None:
    standin.fail_next("sendMessage", Fault.drop_connection())
    with pytest.raises(UncertainDelivery):
        await sender.send(USER, "hello")


async def test_a_patients_voice_note_is_copied_as_a_reply_and_copies_fail_like_sends(
    standin: StandIn, sender: TelegramSender
) -> None:
    standin.add_group(STAFF)
    intro = await sender.send(STAFF, "Anna wrote: a voice note (copied below)")
    standin.send_voice(USER, caption="listen")
    [update] = standin.pending_updates(1)
    copied = await sender.copy(STAFF, USER, update["message"]["message_id"], reply_to=intro)
    copy = standin.sent_to(STAFF)[-1]
    assert (copy.message_id, copy.method, copy.kind, copy.text) == (
        copied,
        "copyMessage",
        "voice",
        "listen",
    )
    assert copy.params["reply_parameters"]["message_id"] == intro
    # the patient deleted it meanwhile: Telegram refuses for good
    with pytest.raises(PermanentDeliveryError, match=r"(?i)message to copy not found"):
        await sender.copy(STAFF, USER, 999)
    standin.fail_next("copyMessage", Fault.retry_after(3))
    with pytest.raises(TransientDeliveryError) as failed:
        await sender.copy(STAFF, USER, update["message"]["message_id"])
    assert failed.value.retry_after == 3


async def test_a_text_longer_than_telegram_takes_is_sent_cut_with_a_marker(
    standin: StandIn, sender: TelegramSender
) -> None:
    await sender.send(USER, "🙂" * 3000)  # 6,000 UTF-16 code units
    sent = standin.sent_to(USER)[-1].text
    assert sent is not None and sent.endswith(CUT_MARK)
    assert len(sent.encode("utf-16-le")) // 2 <= 4096 < len(sent) * 2
    assert fit_text("short") == "short"
