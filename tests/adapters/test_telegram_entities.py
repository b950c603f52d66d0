"""The Telegram adapter sends a message's entities (a patient's words as a blockquote) with its
text, or with a photo's caption, over real HTTP to the stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.adapters.pacing import Pacing
from bot.adapters.ratelimit import RateLimiter
from bot.adapters.telegram import TelegramSender, entities_within
from bot.services.outbox import Styled
from bot.services.ports import Entity
from telegram_standin import StandIn
from tests.conftest import TOKEN

STAFF = -4443


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with StandIn(token=TOKEN) as running:
        running.add_group(STAFF)
        yield running


@pytest.fixture
async def sender(standin: StandIn) -> AsyncIterator[TelegramSender]:
    request = HTTPXRequest(read_timeout=1.0, connect_timeout=1.0)
    pacing = Pacing(RateLimiter())
    async with ExtBot(TOKEN, base_url=standin.api_url, request=request, rate_limiter=pacing) as bot:
        yield TelegramSender(bot)


async def test_a_quoted_text_and_a_quoted_caption_arrive_quoted(
    standin: StandIn, sender: TelegramSender
) -> None:
    body = "💬 Anna wrote:\n" + Styled.quote("my cheek 🙂\nWhy: none")
    await sender.send(STAFF, body.text, entities=body.entities)
    assert standin.sent_to(STAFF)[-1].quoted() == ["my cheek 🙂\nWhy: none"]
    _, photo = standin.create_media("photo")
    caption = "📷 " + Styled.quote("it looks red")
    await sender.send(STAFF, caption.text, photo=photo, entities=caption.entities)
    assert standin.sent_to(STAFF)[-1].quoted() == ["it looks red"]


def test_entities_are_cut_with_a_text_the_adapter_had_to_cut() -> None:
    [kept] = entities_within([Entity("blockquote", 3, 10), Entity("bold", 20, 2)], "0123456789")
    assert (kept.type, kept.offset, kept.length) == ("blockquote", 3, 7)
    assert entities_within([], "text") is None
