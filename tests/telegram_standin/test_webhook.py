"""The stand-in's webhook: updates posted in order with the secret, retried until 2xx, and
getUpdates refused while it is set, as Telegram does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
import telegram
from aiohttp import web

from telegram_standin import StandIn
from telegram_standin.server import SECRET_HEADER

PAT = 1001
SECRET = "s3cret_-token"


@dataclass
class Receiver:
    """A webhook endpoint that answers with the next scripted status (then 200)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[int, str | None]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        self.received.append((body["update_id"], request.headers.get(SECRET_HEADER)))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield found
    await runner.cleanup()


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with StandIn() as running:
        running.add_user(PAT, "Pat")
        yield running


@pytest_asyncio.fixture
async def bot(standin: StandIn) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        standin.token, base_url=standin.api_url, base_file_url=standin.file_url
    ) as ptb_bot:
        yield ptb_bot


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def test_updates_are_posted_in_order_with_the_secret(
    standin: StandIn, bot: telegram.Bot, receiver: Receiver
) -> None:
    first = standin.send_text(PAT, "/start")
    assert await bot.set_webhook(receiver.url, secret_token=SECRET, allowed_updates=["message"])
    second = standin.send_text(PAT, "hello")

    await standin.wait_for(lambda: len(receiver.received) == 2)
    assert receiver.received == [(first, SECRET), (second, SECRET)]
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (receiver.url, 0)
    assert info.allowed_updates == ("message",)
    assert info.last_error_message is None


async def test_a_failed_post_is_retried_until_it_succeeds(
    standin: StandIn, bot: telegram.Bot, receiver: Receiver
) -> None:
    receiver.statuses = [500, 403, 500]
    await bot.set_webhook(receiver.url, secret_token=SECRET)
    first = standin.send_text(PAT, "one")
    second = standin.send_text(PAT, "two")

    await standin.wait_for(lambda: len(receiver.received) == 5)
    # the second waits behind the first, as Telegram keeps a bot's updates in order
    assert [update_id for update_id, _ in receiver.received] == [first] * 4 + [second]
    assert [status for _, status in standin.webhook_attempts] == [500, 403, 500, 200, 200]
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_an_unreachable_webhook_keeps_the_update_pending(
    standin: StandIn, bot: telegram.Bot, receiver: Receiver
) -> None:
    await bot.set_webhook("http://127.0.0.1:9/nobody-listens")
    standin.send_text(PAT, "anyone?")
    await standin.wait_for(lambda: len(standin.webhook_attempts) >= 2)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Connection refused"

    await bot.set_webhook(receiver.url)  # pointed elsewhere, it is delivered there

    await standin.wait_for(lambda: len(receiver.received) == 1)
    assert receiver.received[0][1] is None  # no secret set, no header


async def test_get_updates_is_refused_while_a_webhook_is_set(
    standin: StandIn, bot: telegram.Bot, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 1000  # keeps the update pending
    await bot.set_webhook(receiver.url)
    standin.send_text(PAT, "held")
    await standin.wait_for(lambda: bool(receiver.received))

    with pytest.raises(telegram.error.Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)

    assert await bot.delete_webhook()
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["held"]
    assert (await bot.get_webhook_info()).url == ""


async def test_set_webhook_ends_a_held_get_updates(
    standin: StandIn, bot: telegram.Bot, receiver: Receiver
) -> None:
    held = asyncio.create_task(bot.get_updates(timeout=5, read_timeout=10))
    await standin.wait_for(lambda: bool(standin.calls("getUpdates")))
    await bot.set_webhook(receiver.url)

    with pytest.raises(telegram.error.Conflict, match="terminated by setWebhook"):
        await held


async def test_set_webhook_checks_what_telegram_checks(standin: StandIn, bot: telegram.Bot) -> None:
    with pytest.raises(telegram.error.BadRequest, match="unallowed characters"):
        await bot.set_webhook("https://example.org/hook", secret_token="no spaces")
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("ftp://example.org/hook")
    assert standin.webhook_url == ""


async def test_drop_pending_updates_on_set_webhook(
    standin: StandIn, bot: telegram.Bot, receiver: Receiver
) -> None:
    standin.send_text(PAT, "old news")
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    fresh = standin.send_text(PAT, "new")

    await standin.wait_for(lambda: len(receiver.received) == 1)
    assert receiver.received[0][0] == fresh
