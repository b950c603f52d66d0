"""`aftercare run --webhook`: Telegram posts updates; each is stored before the 200 and handled
once, by one process, however many take posts and however often Telegram sends it again."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import itertools
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select, text
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot import app
from bot.clock import ScaledClock
from bot.config import Settings, Webhook
from bot.db.models import InboundUpdate, UpdateStatus
from bot.errors import ConfigError
from bot.handlers.webhook import SECRET_HEADER
from bot.services import inbox, patients
from telegram_standin import StandIn
from tests.conftest import TOKEN, make_context
from tests.e2e.conftest import PATIENT, Harness, running_bot
from tests.e2e.test_delivery import planned_patient

SECRET = "webhook-secret_0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def hook_at(port: int, *, url_port: int | None = None) -> Webhook:
    """Listening on `port`; Telegram is told to post to `url_port` (a balancer) or the same."""
    return Webhook(
        url=f"http://127.0.0.1:{url_port or port}/telegram",
        host="127.0.0.1",
        port=port,
        path="/telegram",
        secret=SECRET,
    )


@pytest.fixture
async def hooked(settings: Settings) -> AsyncIterator[Harness]:
    async with running_bot(settings, real_time_limits=False, webhook=hook_at(free_port())) as h:
        yield h


def help_update(h: Harness, update_id: int, user_id: int = PATIENT) -> dict[str, Any]:
    """What Telegram posts when someone sends /help."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(h.clock.now().timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": "Anna"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Anna"},
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def post(
    url: str, body: bytes | dict[str, Any], secret: str | None = SECRET, method: str = "POST"
) -> int:
    """One request as Telegram would make it; returns the HTTP status."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with (
        aiohttp.ClientSession() as http,
        # a file-like body: aiohttp warns about large bytes bodies, and warnings are errors here
        http.request(method, url, data=io.BytesIO(data), headers=headers) as response,
    ):
        return response.status


async def stored(h: Harness) -> list[InboundUpdate]:
    async with h.ctx.db() as db:
        return list((await db.execute(select(InboundUpdate))).scalars().all())


async def all_done(h: Harness, count: int, timeout: float = 10.0) -> list[InboundUpdate]:
    """Waits until `count` updates are stored and every one is handled."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await stored(h)
        if len(rows) >= count and all(r.status == UpdateStatus.DONE for r in rows):
            return rows
        if loop.time() > deadline:
            raise TimeoutError(
                f"updates not all handled: {[(r.update_id, r.status) for r in rows]}"
            )
        await asyncio.sleep(0.02)


async def test_a_patient_joins_and_answers_a_check_in_by_webhook(hooked: Harness) -> None:
    h = hooked
    assert h.webhook is not None
    assert (h.standin.webhook_url, h.standin.webhook_secret) == (h.webhook.url, SECRET)
    [params] = h.standin.calls("setWebhook")
    assert params["drop_pending_updates"] is False
    assert set(params["allowed_updates"]) == set(Update.ALL_TYPES)

    ref, _plan = await planned_patient(h)
    await h.join(ref)  # /start with the invite, then the consent button: both by webhook
    assert "all set" in h.latest(PATIENT).text
    question = await h.reply_to(PATIENT, "/checkin")
    await h.tap(PATIENT, question, "All good")

    assert "Good to hear" in h.latest(PATIENT).text
    assert h.standin.calls("getUpdates") == []
    assert h.standin.calls("deleteWebhook") == []  # the webhook is not polling's to remove
    rows = await all_done(h, 4)
    assert all(r.payload is None for r in rows)  # what patients wrote is not kept
    assert {status for _, status in h.standin.webhook_attempts} == {200}


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    hooked: Harness,
) -> None:
    h = hooked
    assert h.webhook is not None
    update = help_update(h, 500)

    assert await post(h.webhook.url, update, secret="webhook-secret_0123456788") == 403
    assert await post(h.webhook.url, update, secret=None) == 403
    assert await post(h.webhook.url, update, secret="") == 403
    assert await post(h.webhook.url, update, secret="ünïcödé") == 403
    await asyncio.sleep(0.2)
    assert await stored(h) == []
    assert h.standin.sent_to(PATIENT) == []

    assert await post(h.webhook.url, update) == 200  # the same update, with the secret
    await h.standin.wait_for_messages(PATIENT, 1)


async def test_a_malformed_body_is_refused_and_nothing_is_stored(hooked: Harness) -> None:
    h = hooked
    assert h.webhook is not None
    url = h.webhook.url
    message = help_update(h, 1)["message"]
    refused = {
        "not JSON": b"{not json",
        "not UTF-8": b'{"update_id": 1, "message": "\xff"}',
        "a list": b"[1, 2]",
        "no update_id": json.dumps({"message": message}).encode(),
        "a text update_id": json.dumps({"update_id": "7", "message": message}).encode(),
        "a boolean update_id": json.dumps({"update_id": True, "message": message}).encode(),
        "a negative update_id": json.dumps({"update_id": -1, "message": message}).encode(),
        "an update_id too large": json.dumps({"update_id": 2**63, "message": message}).encode(),
        "an id and nothing else": b'{"update_id": 8}',
        "nested beyond reason": b"[" * 100_000 + b"]" * 100_000,
    }
    for what, body in refused.items():
        assert await post(url, body) == 400, what
    assert await post(url, b'{"update_id": 9, "x": "' + b"a" * 2_000_000 + b'"}') == 413
    assert await post(url, help_update(h, 10), method="GET") == 405
    assert await post(url.replace("/telegram", "/elsewhere"), help_update(h, 11)) == 404

    assert await stored(h) == []
    assert h.standin.sent_to(PATIENT) == []


async def test_an_update_sent_again_is_handled_once(hooked: Harness) -> None:
    h = hooked
    assert h.webhook is not None
    update = help_update(h, 700)

    # Telegram sends it again when our 200 was lost; here even at the same moment
    statuses = await asyncio.gather(*(post(h.webhook.url, update) for _ in range(5)))
    assert statuses == [200] * 5
    await all_done(h, 1)
    assert await post(h.webhook.url, update) == 200  # and once more after it was handled

    await asyncio.sleep(0.3)
    assert len(h.standin.sent_to(PATIENT)) == 1
    assert [r.update_id for r in await stored(h)] == [700]


async def test_a_database_error_answers_500_and_telegrams_next_try_is_handled(
    hooked: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = hooked
    async with h.ctx.db.begin() as db:  # the inbox is gone for a moment
        await db.execute(text("ALTER TABLE inbound_update RENAME TO inbound_update_away"))
    h.standin.send_text(PATIENT, "/help my private words")
    await h.standin.wait_for(lambda: 500 in {s for _, s in h.standin.webhook_attempts})
    async with h.ctx.db.begin() as db:
        await db.execute(text("ALTER TABLE inbound_update_away RENAME TO inbound_update"))

    await h.standin.wait_for_messages(PATIENT, 1)
    statuses = [status for _, status in h.standin.webhook_attempts]
    assert statuses[0] == 500 and statuses[-1] == 200
    await all_done(h, 1)
    assert len(h.standin.sent_to(PATIENT)) == 1
    assert "not stored" in caplog.text
    assert "private words" not in caplog.text  # the database's error quotes the update


async def test_an_update_a_dead_process_was_handling_is_handled_after_the_lease(
    hooked: Harness,
) -> None:
    h = hooked
    await h.runtime.stop()
    # the last process stored this update, claimed it, and died before it was handled
    assert await inbox.store(h.ctx, [help_update(h, 900)]) == 1
    lease = dt.timedelta(seconds=h.settings.claim_lease)
    claimed = await inbox.claim_next(h.ctx, lease)
    assert claimed is not None and claimed.status == UpdateStatus.HANDLING
    h.clock.advance(lease + dt.timedelta(seconds=1))

    await h.restart()

    await h.standin.wait_for_messages(PATIENT, 1)
    assert "personal link" in h.standin.sent_to(PATIENT)[0].text
    await all_done(h, 1)


async def test_polling_removes_a_webhook_and_takes_the_updates_it_held(
    harness: Harness,
) -> None:
    h = harness  # polling
    h.standin.set_webhook("http://127.0.0.1:9/gone", secret_token=SECRET)
    h.standin.send_text(PATIENT, "/help")  # held for a webhook nobody answers
    await h.standin.wait_for(lambda: bool(h.standin.webhook_attempts))

    await h.restart()  # the new process polls: it removes the webhook first

    await h.standin.wait_for_messages(PATIENT, 1)
    assert h.standin.webhook_url == ""
    assert h.standin.calls("deleteWebhook")[-1].get("drop_pending_updates") is False


class Balancer:
    """A round-robin load balancer in front of several webhook processes."""

    def __init__(self) -> None:
        self.backends: list[str] = []
        self.taken: dict[str, int] = {}
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self.port = free_port()

    async def start(self) -> None:
        balancer = web.Application()
        balancer.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(balancer, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        if not self.backends:
            return web.Response(status=502)
        backend = self.backends[next(self._turn) % len(self.backends)]
        self.taken[backend] = self.taken.get(backend, 0) + 1
        secret = request.headers.get(SECRET_HEADER)
        try:
            return web.Response(status=await post(backend, await request.read(), secret))
        except aiohttp.ClientError:
            return web.Response(status=502)


async def test_two_webhook_processes_share_fifty_updates_and_handle_each_once(
    settings: Settings,
) -> None:
    balancer = Balancer()
    await balancer.start()
    first, second = hook_at(free_port(), url_port=balancer.port), None
    handled: list[tuple[str, int]] = []

    def count(name: str) -> Any:
        async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            handled.append((name, update.update_id))

        return record

    # fifty people who are not linked, each answered: above the strangers' usual 20 a minute
    settings = settings.model_copy(update={"stranger_replies_per_minute": 100})
    try:
        async with running_bot(settings, real_time_limits=False, webhook=first) as h:
            h.runtime.application.add_handler(TypeHandler(Update, count("first")), group=-1)
            # a second process on the same database, behind the same public URL
            second = hook_at(free_port(), url_port=balancer.port)
            opened = app.open_context(h.settings, h.clock)
            ctx = await opened.__aenter__()
            other = app.Runtime(app.build_application(h.settings, TOKEN, ctx), ctx, second)
            other.application.add_handler(TypeHandler(Update, count("second")), group=-1)
            try:
                await other.start()
                balancer.backends = [
                    f"http://127.0.0.1:{hook.port}{hook.path}" for hook in (first, second)
                ]
                users = list(range(40_000, 40_050))
                for uid in users:
                    h.standin.add_user(uid, f"P{uid}")
                sent = [h.standin.send_text(uid, "/help") for uid in users]

                await h.standin.wait_for(lambda: len(h.standin.messages) >= 50, timeout=15)
                await all_done(h, 50)
                # Telegram sends a few again, to both processes at once: nothing more happens
                again = [help_update(h, update_id) for update_id in sent[:5]]
                backends = balancer.backends
                statuses = await asyncio.gather(
                    *(post(url, update) for update in again for url in backends)
                )
                await asyncio.sleep(0.3)
            finally:
                await other.stop()
                await opened.__aexit__(None, None, None)

            assert statuses == [200] * 10
            assert sorted(update_id for _, update_id in handled) == sorted(sent)  # each once
            assert sorted(balancer.taken.values()) == [25, 25]
            assert sorted(m.chat_id for m in h.standin.messages) == users  # one answer each
    finally:
        await balancer.stop()


async def test_the_webhook_process_takes_posts_and_stops_cleanly(
    settings: Settings, database_url: str
) -> None:
    ctx, engine = make_context(settings, ScaledClock())
    patient = await patients.add_patient(ctx, "Anna", "en", "Europe/Paris")
    link = await patients.create_invite(ctx, str(patient.id))
    await engine.dispose()  # type: ignore[attr-defined]
    port = free_port()
    async with StandIn(token=TOKEN) as standin:
        standin.add_user(PATIENT, "Anna")
        env = {
            **os.environ,
            "AFTERCARE_DATABASE_URL": database_url,
            "AFTERCARE_BOT_TOKEN": TOKEN,
            "AFTERCARE_BOT_API_URL": standin.base_url,
            "AFTERCARE_STAFF_CHAT_ID": "-1001",
            "AFTERCARE_WEBHOOK_URL": f"http://127.0.0.1:{port}/tg",
            "AFTERCARE_WEBHOOK_LISTEN": f"127.0.0.1:{port}",
            "AFTERCARE_WEBHOOK_SECRET": SECRET,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--webhook",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            standin.send_text(PATIENT, f"/start {link.token}")
            consent = (await standin.wait_for_messages(PATIENT, 1, timeout=30))[0]
            standin.press(PATIENT, consent.message_id, consent.buttons[0]["callback_data"])
            assert "all set" in (await standin.wait_for_messages(PATIENT, 2))[-1].text
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, err.decode()[-2000:]
        log = err.decode()
        assert TOKEN.split(":")[1] not in log and SECRET not in log
        assert standin.calls("getUpdates") == []
        assert standin.webhook_url == f"http://127.0.0.1:{port}/tg"  # kept for the others


async def test_a_busy_port_or_a_refused_url_stops_start_up_with_the_setting_named(
    settings: Settings,
) -> None:
    clock = ScaledClock(1.0)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = hook_at(busy.getsockname()[1])
        refused = Webhook("ftp://127.0.0.1/telegram", "127.0.0.1", free_port(), "/", SECRET)
        async with StandIn(token=TOKEN) as standin:
            live = settings.model_copy(update={"bot_api_url": standin.base_url})
            for hook, problem in (
                (taken, "AFTERCARE_WEBHOOK_LISTEN: cannot listen on 127.0.0.1:"),
                (refused, "AFTERCARE_WEBHOOK_URL: Telegram refused it (Bad webhook: an https"),
            ):
                async with app.open_context(live, clock) as ctx:
                    runtime = app.Runtime(app.build_application(live, TOKEN, ctx), ctx, hook)
                    try:
                        with pytest.raises(ConfigError, match=re.escape(problem)):
                            await runtime.start()
                    finally:
                        await runtime.stop()
            assert standin.webhook_url == ""
