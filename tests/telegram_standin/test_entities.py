"""The stand-in takes message entities as Telegram does: checked against the text in UTF-16 code
units, kept on the message (and its edits), and recorded for tests to read (`quoted()`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import telegram
from telegram import MessageEntity
from telegram.error import BadRequest

from telegram_standin import StandIn
from telegram_standin.objects import TINY_JPEG

PAT = 1101
STAFF = -5101


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with StandIn() as running:
        running.add_user(PAT, "Pat")
        running.add_group(STAFF)
        yield running


@pytest_asyncio.fixture
async def bot(standin: StandIn) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        standin.token,
        base_url=f"{standin.base_url}/bot",
        base_file_url=f"{standin.base_url}/file/bot",
    ) as ptb_bot:
        yield ptb_bot


def quote(offset: int, length: int) -> MessageEntity:
    return MessageEntity(MessageEntity.BLOCKQUOTE, offset, length)


async def test_a_blockquote_is_kept_and_read_in_utf16_units(
    standin: StandIn, bot: telegram.Bot
) -> None:
    text = "💬 Pat wrote:\nit hurts 🙂\nReply here."
    # "💬" and "🙂" are two UTF-16 code units each: the quote starts at 14, not 13
    sent = await bot.send_message(STAFF, text, entities=[quote(14, 11)])
    assert sent.entities == (quote(14, 11),)
    [recorded] = standin.sent_to(STAFF)
    assert recorded.quoted() == ["it hurts 🙂"]
    assert recorded.entities == [{"type": "blockquote", "offset": 14, "length": 11}]


async def test_an_entity_outside_the_text_is_refused(standin: StandIn, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="entities"):
        await bot.send_message(STAFF, "short", entities=[quote(2, 10)])
    with pytest.raises(BadRequest, match="entities"):
        await bot.send_message(STAFF, "short", entities=[MessageEntity("sparkle", 0, 2)])
    assert standin.sent_to(STAFF) == []


async def test_a_captions_entities_and_an_edits_are_kept(
    standin: StandIn, bot: telegram.Bot
) -> None:
    await bot.send_photo(STAFF, TINY_JPEG, caption="Photo: red", caption_entities=[quote(7, 3)])
    assert standin.sent_to(STAFF)[-1].quoted() == ["red"]
    sent = await bot.send_message(PAT, "plain")
    await bot.edit_message_text("now quoted", PAT, sent.message_id, entities=[quote(4, 6)])
    assert standin.sent_to(PAT)[-1].quoted() == ["quoted"]
    await bot.edit_message_text("plain again", PAT, sent.message_id)
    assert standin.sent_to(PAT)[-1].entities == []
