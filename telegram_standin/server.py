"""StandIn: the loopback HTTP server, its lifecycle, outages, injected faults and flood limits."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import aiohttp
from aiohttp import web

from .botapi import SEND_METHODS, BotApi
from .control import control_routes
from .models import JSON, ApiError, Exchange, Fault, SentMessage
from .params import int_param, read_params
from .ratelimit import RateLimiter
from .world import World

UNAUTHORIZED: JSON = {"ok": False, "error_code": 401, "description": "Unauthorized"}
NOT_FOUND: JSON = {"ok": False, "error_code": 404, "description": "Not Found"}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Webhook delivery: a failed post is tried again after a pause that doubles up to the most
# (Telegram's own pauses are longer; tests need redelivery within a second)
WEBHOOK_RETRY_FIRST = 0.05
WEBHOOK_RETRY_MOST = 1.0
WEBHOOK_TIMEOUT = 10.0


@dataclass
class _PendingFault:
    method: str
    fault: Fault
    remaining: int
    chat_id: int | None


class StandIn(World):
    """A loopback Telegram Bot API for python-telegram-bot, driven from Python or /_control/."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "aftercare_test_bot",
        clock: Callable[[], dt.datetime] | None = None,
        global_limit: tuple[int, float] = (30, 1.0),
        chat_burst: int = 3,
        chat_rate: float = 1.0,
        group_limit: tuple[int, float] = (20, 60.0),
        bot_name: str = "Aftercare",
        limit_clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(token=token, bot_username=bot_username, clock=clock, bot_name=bot_name)
        self.rate_limited = 0
        self._limiter = RateLimiter(
            global_limit=global_limit,
            chat_burst=chat_burst,
            chat_rate=chat_rate,
            group_limit=group_limit,
            # a process on a fast or jumping clock (demo, tests) is limited on that clock too
            now=limit_clock or time.monotonic,
        )
        self._faults: list[_PendingFault] = []
        # every Bot API request with its arrival time and answer, for timing checks
        self.exchanges: list[Exchange] = []
        self._closing = asyncio.Event()
        self._api = BotApi(self, self._closing)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._offline_port: int | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._webhook_poke = asyncio.Event()

    @property
    def base_url(self) -> str:
        if self._offline_port is not None:
            return f"http://127.0.0.1:{self._offline_port}"
        if self._base_url is None:
            raise RuntimeError("StandIn is not running: await start() first")
        return self._base_url

    @property
    def api_url(self) -> str:
        """What to pass as python-telegram-bot's Bot(base_url=...); it appends the token."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """What to pass as python-telegram-bot's Bot(base_file_url=...)."""
        return f"{self.base_url}/file/bot"

    async def start(self, port: int = 0) -> None:
        """Listens on 127.0.0.1, on `port` (0: any free port)."""
        if self._runner is not None:
            raise RuntimeError("StandIn is already running")
        self._closing.clear()
        # Uploads can be large; Telegram itself accepts photos up to 10 MB and files up to 50 MB.
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._bot_endpoint)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._file_endpoint)
        app.router.add_routes(control_routes(self))
        # Held long polls and slow answers end at stop(), so a short grace period is plenty.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        port = runner.addresses[0][1]
        self._runner = runner
        self._base_url = f"http://127.0.0.1:{port}"
        self.webhook_changed()

    async def stop(self) -> None:
        self._offline_port = None
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()
        self.updates_changed.set()
        delivery, self._delivery = self._delivery, None
        if delivery is not None:
            delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivery
        await runner.cleanup()
        self._base_url = None

    async def go_offline(self) -> None:
        """Telegram becomes unreachable: the port stops listening, so every connection is
        refused (open ones are closed) until go_online(). What the world holds is kept."""
        if self._runner is None:
            raise RuntimeError("StandIn is not running")
        port = int(self.base_url.rsplit(":", 1)[1])
        await self.stop()
        self._offline_port = port

    async def go_online(self) -> None:
        """Listens again on the same port, so a client configured with base_url reconnects."""
        port = self._offline_port
        if port is None:
            raise RuntimeError("StandIn is not offline: go_offline() first")
        self._offline_port = None
        await self.start(port)

    @property
    def is_offline(self) -> bool:
        return self._offline_port is not None

    def webhook_changed(self) -> None:
        super().webhook_changed()
        self._webhook_poke.set()
        running = self._runner is not None and not self._closing.is_set()
        if self.webhook_url and running and (self._delivery is None or self._delivery.done()):
            self._delivery = asyncio.create_task(self._deliver(), name="standin-webhook")

    async def _deliver(self) -> None:
        """While a webhook is set, posts pending updates to it one at a time, oldest first, each
        until the webhook answers 2xx (then Telegram forgets it), pausing after a failure."""
        pause = WEBHOOK_RETRY_FIRST
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while self.webhook_url and not self._closing.is_set():
                pending = self.pending_updates(1)
                if not pending:
                    self.updates_changed.clear()
                    self._webhook_poke.clear()
                    await _first_of(self.updates_changed, self._webhook_poke)
                    continue
                update = pending[0]
                status, failure = await self._post(http, update)
                self.webhook_attempts.append((update["update_id"], status))
                if failure is None:
                    self.delivered(update["update_id"])
                    pause = WEBHOOK_RETRY_FIRST
                    continue
                self.webhook_last_error = (self.unix_now(), failure)
                self._webhook_poke.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._webhook_poke.wait(), pause)
                pause = min(pause * 2, WEBHOOK_RETRY_MOST)

    async def _post(
        self, http: aiohttp.ClientSession, update: JSON
    ) -> tuple[int | None, str | None]:
        """(HTTP status, Telegram's wording of the failure or None when delivered)."""
        headers = {SECRET_HEADER: self.webhook_secret} if self.webhook_secret else {}
        try:
            async with http.post(self.webhook_url, json=update, headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return response.status, None
                return response.status, (
                    f"Wrong response from the webhook: {response.status} {response.reason}"
                )
        except TimeoutError:
            return None, "Read timeout expired"
        except aiohttp.ClientConnectionError:
            return None, "Connection refused"
        except aiohttp.ClientError as err:
            return None, f"Connection failed: {type(err).__name__}"

    async def __aenter__(self) -> StandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def fail_next(
        self, method: str, fault: Fault, *, count: int = 1, chat_id: int | None = None
    ) -> None:
        """The next `count` calls of `method` (only those to `chat_id`, if given) misbehave."""
        canonical = self._api.canonical(method)
        if canonical is None:
            raise ValueError(f"the stand-in does not implement Bot API method {method!r}")
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self._faults.append(_PendingFault(canonical, fault, count, chat_id))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: str, params: JSON) -> Fault | None:
        chat_id = _chat_id_of(params)
        for pending in self._faults:
            if pending.method != method:
                continue
            if pending.chat_id is not None and pending.chat_id != chat_id:
                continue
            pending.remaining -= 1
            if pending.remaining == 0:
                self._faults.remove(pending)
            return pending.fault
        return None

    # The timeout parameter is the agreed interface; callers should not need asyncio.timeout.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,
    ) -> None:
        """Polls until predicate() holds; TimeoutError names the predicate and recent activity."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                name = getattr(predicate, "__qualname__", repr(predicate))
                recent = "\n".join("  " + entry.line() for entry in self.transcript[-10:])
                calls = ", ".join(method for method, _ in self.requests[-10:])
                raise TimeoutError(
                    f"condition {name} still false after {timeout}s.\n"
                    f"Last transcript entries:\n{recent or '  (none)'}\n"
                    f"Last Bot API calls: {calls or '(none)'}"
                )
            await asyncio.sleep(0.01)

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,
    ) -> list[SentMessage]:
        """Waits until the bot has sent at least `count` messages to the chat; returns them all."""

        def enough() -> bool:
            return len(self.sent_to(chat_id)) >= count

        enough.__qualname__ = f"<{count} message(s) sent to chat {chat_id}>"
        await self.wait_for(enough, timeout)
        return self.sent_to(chat_id)

    async def _bot_endpoint(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(UNAUTHORIZED, status=401)
        name = request.match_info["method"]
        try:
            params = await read_params(request)
        except ApiError as error:
            return web.json_response(error.body(), status=error.status)
        method = self._api.canonical(name)
        self.requests.append((method or name, params))
        exchange = Exchange(method or name, _chat_id_of(params), time.monotonic(), self.now())
        self.exchanges.append(exchange)
        if method is None:
            return _answer(exchange, NOT_FOUND, 404)

        fault = self._take_fault(method, params)
        if fault is not None and fault.kind == "drop_connection":
            return _drop(exchange, request)
        if fault is not None and fault.kind not in ("slow", "deliver_then_drop"):
            return _answer(exchange, fault.error_body(), fault.status)

        limited = method in SEND_METHODS
        try:
            if limited:
                self._enforce_rate_limit(params)
            body: JSON = {"ok": True, "result": await self._api.call(method, params)}
            status = 200
            if limited:
                self._limiter.record(_chat_id_of(params))
        except ApiError as error:
            body, status = error.body(), error.status
        if fault is not None and fault.kind == "deliver_then_drop":
            return _drop(exchange, request)
        if fault is not None:
            await self._pause(fault.delay)
        return _answer(exchange, body, status)

    def _enforce_rate_limit(self, params: JSON) -> None:
        retry_after = self._limiter.check(_chat_id_of(params))
        if retry_after is not None:
            self.rate_limited += 1
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )

    async def _pause(self, delay: float) -> None:
        """Sleeps, but no longer than until stop(), so shutdown never waits on a slow answer."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)

    async def _file_endpoint(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(UNAUTHORIZED, status=401)
        stored = self.file_at(request.match_info["file_path"])
        if stored is None:
            return web.json_response(NOT_FOUND, status=404)
        content_type = mimetypes.guess_type(stored.file_path)[0] or "application/octet-stream"
        return web.Response(body=stored.data, content_type=content_type)


def _answer(exchange: Exchange, body: JSON, status: int) -> web.Response:
    exchange.status, exchange.answered = status, time.monotonic()
    parameters = body.get("parameters")
    if status == 429 and isinstance(parameters, dict):
        exchange.retry_after = int(parameters["retry_after"])
    return web.json_response(body, status=status)


def _drop(exchange: Exchange, request: web.Request) -> web.Response:
    exchange.answered = time.monotonic()
    if request.transport is not None:
        request.transport.close()
    # aiohttp fails to write this onto the closed transport and drops it quietly.
    return web.Response()


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def _chat_id_of(params: JSON) -> int | None:
    try:
        return int_param(params, "chat_id")
    except ApiError:
        return None
