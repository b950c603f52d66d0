"""The composition root: builds the context, the Telegram application, the jobs, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder
from telegram.request import HTTPXRequest

import jobs
from bot import crashpoints
from bot.adapters.pacing import Pacing
from bot.adapters.ratelimit import RateLimiter
from bot.adapters.telegram import TelegramSender
from bot.appstate import CONTEXT_TYPES, App
from bot.clock import Clock, ScaledClock
from bot.config import Settings, Webhook, parse_ack_timeouts
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.migrate import current_revision, head_revision, upgrade_async
from bot.domain.hours import OpeningHours
from bot.domain.plan import QuietHours
from bot.errors import ConfigError
from bot.handlers import menu, polling, registry, webhook
from bot.handlers.inbound import UpdateWorker
from bot.i18n import I18n
from bot.services import health
from bot.services.buttons import CallbackSigner
from bot.services.context import ACK_TIMEOUTS, Clinic, Context
from bot.services.dispatch import Dispatcher
from bot.services.intake import IntakeLimits
from bot.services.protocols import load_protocols
from bot.services.safety import load_safety
from jobs import dispatch as dispatch_job

log = logging.getLogger(__name__)


class RedactToken(logging.Filter):
    """No bot token in any log line: httpx and PTB put request URLs in their messages."""

    _pattern = re.compile(r"bot\d+:[A-Za-z0-9_-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._pattern.search(message):
            record.msg = self._pattern.sub("bot<token>", message)
            record.args = None
        return True


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactToken())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL (with the token) at INFO
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def clinic_from(settings: Settings) -> Clinic:
    return Clinic(
        name=settings.clinic_name,
        phone=settings.clinic_phone,
        emergency_number=settings.emergency_number,
        timezone=settings.timezone,
        quiet=QuietHours.parse(settings.quiet_hours),
        staff_chat_id=settings.staff_chat_id,
        default_language=settings.default_language,
        staff_language=settings.staff_language or settings.default_language,
        invite_ttl=settings.invite_ttl,
        bot_username=settings.bot_username,
        ack_timeouts={**ACK_TIMEOUTS, **parse_ack_timeouts(settings.ack_timeouts)},
        opening_hours=OpeningHours.parse(settings.opening_hours)
        if settings.opening_hours
        else None,
        out_of_hours_phone=settings.out_of_hours_phone,
    )


@contextlib.asynccontextmanager
async def open_context(
    settings: Settings, clock: Clock | None = None, *, migrate: bool = False
) -> AsyncIterator[Context]:
    """The services' context over a fresh engine, disposed of on the way out."""
    if migrate:
        await upgrade_async(settings.database_url)
    engine: AsyncEngine = make_engine(settings.database_url)
    try:
        current = await current_revision(engine)
    except Exception as err:
        await engine.dispose()
        raise ConfigError(
            f"AFTERCARE_DATABASE_URL: cannot open the database ({str(err).splitlines()[0][:200]})"
        ) from None
    if current != head_revision():
        await engine.dispose()
        raise ConfigError("the database is not up to date: run `aftercare db upgrade` first")
    token = settings.bot_token.get_secret_value() if settings.bot_token else "no-token"
    try:
        i18n = I18n.shipped(settings.default_language)
        yield Context(
            db=make_sessionmaker(engine),
            clock=clock or ScaledClock(settings.clock_speed),
            protocols=load_protocols(settings.protocols_dir),
            i18n=i18n,
            clinic=clinic_from(settings),
            signer=CallbackSigner(token.encode()),
            safety=load_safety(languages=i18n.languages),
        )
    finally:
        await engine.dispose()


def build_application(settings: Settings, token: str, ctx: Context) -> App:
    api = settings.bot_api_url
    limiter = RateLimiter(per_second=settings.send_rate, clock=ctx.clock)
    application = (
        ApplicationBuilder()
        .context_types(CONTEXT_TYPES)
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        # our own poller and webhook store updates before confirming them (bot.handlers.inbound)
        .updater(None)
        .request(
            HTTPXRequest(
                connection_pool_size=64, read_timeout=settings.send_timeout, connect_timeout=5
            )
        )
        .get_updates_request(HTTPXRequest(connection_pool_size=2, read_timeout=30))
        .rate_limiter(Pacing(limiter))
        .build()
    )
    for handler in registry.handlers():
        application.add_handler(handler)
    application.add_error_handler(_log_error)
    state = application.bot_data
    state.ctx = ctx
    state.rate = limiter
    state.claim_lease = dt.timedelta(seconds=ctx.clock.simulated_seconds(settings.claim_lease))
    state.update_concurrency = settings.update_concurrency
    state.intake = IntakeLimits(
        per_minute=settings.intake_per_minute,
        strangers_per_minute=settings.stranger_replies_per_minute,
    )
    # claim a quarter second's worth of sends at a time: few rows are left "sending" (and so
    # uncertain) if the process dies, yet enough to keep the connection pool busy
    batch = min(64, max(8, settings.send_rate // 4))
    state.dispatcher = Dispatcher(
        ctx, TelegramSender(application.bot), batch, claim_lease=state.claim_lease
    )
    job_queue = application.job_queue
    assert job_queue is not None
    ctx.wake = lambda: dispatch_job.wake(job_queue)
    return application


async def _log_error(update: object, context: Any) -> None:
    update_id = getattr(update, "update_id", None)
    log.error(
        "update %s failed: %s", update_id, type(context.error).__name__, exc_info=context.error
    )


# Start-up waits for the Bot API (a network not up yet, Telegram down): the pause between tries
# doubles from the first to the most, one log line a try; only a token Telegram refuses stops it.
STARTUP_RETRY_FIRST = 1.0
STARTUP_RETRY_MOST = 60.0


async def until_reachable(method: str, call: Callable[[], Awaitable[None]]) -> None:
    """Runs `call` (requests to the Bot API) until it goes through. 401/404 (InvalidToken)
    stops start-up with one line; a connection that fails, a timeout, a 5xx or a 429 is
    waited out and tried again."""
    pause, tries = STARTUP_RETRY_FIRST, 0
    while True:
        try:
            await call()
            if tries:
                log.info("the Bot API answered after %s tries", tries + 1)
            return
        except InvalidToken:
            raise ConfigError(
                "AFTERCARE_BOT_TOKEN: Telegram refused the token (401/404): check it with "
                "@BotFather, or AFTERCARE_BOT_API_URL"
            ) from None
        except RetryAfter as err:
            wait = max(_seconds(err.retry_after), STARTUP_RETRY_FIRST)
            reason = "429 Too Many Requests"
        except NetworkError as err:  # TimedOut, a refused connection, a 5xx
            wait, pause = pause, min(pause * 2, STARTUP_RETRY_MOST)
            reason = f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
        tries += 1
        log.warning(
            "the Bot API cannot be reached at %s (%s); try %s failed, trying again in %.0f s",
            method,
            reason,
            tries,
            wait,
        )
        await asyncio.sleep(wait)


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class Runtime:
    """The bot's main job: polling (or a webhook), handlers, the dispatcher and its wake-ups.

    Several may run on one database. Each says it is alive every few seconds and paces itself
    to an equal share of Telegram's overall rate (AFTERCARE_SEND_RATE divided by the processes
    alive), so together they stay under it; per-chat spacing is kept in the database."""

    def __init__(self, application: App, ctx: Context, hook: Webhook | None = None) -> None:
        self.application = application
        self.ctx = ctx
        self.webhook = hook
        # an update a dead process was handling is taken again after the same lease as a send
        self.updates = UpdateWorker(
            application,
            application.bot_data.claim_lease,
            concurrency=application.bot_data.update_concurrency,
        )
        self._server: web.AppRunner | None = None
        self.process = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.rate = application.bot_data.rate
        self.full_rate = self.rate.per_second
        self._poller: asyncio.Task[None] | None = None
        self._presence: asyncio.Task[None] | None = None

    async def share_rate(self) -> int:
        """Says this process is alive and takes its share of the rate; returns how many run."""
        processes = await health.announce(self.ctx, self.process)
        share = max(1, self.full_rate // max(processes, 1))
        if share != self.rate.per_second:
            log.info("%s processes running: sending at most %s/s", processes, share)
        self.rate.per_second = share
        return processes

    async def _presence_forever(self) -> None:
        while True:
            await asyncio.sleep(health.PRESENCE_EVERY)
            try:
                await self.share_rate()
            except Exception as err:  # the database is away: keep the share we have
                log.warning("could not renew this process's presence: %s", type(err).__name__)

    async def start(self) -> None:
        app = self.application
        if await self.share_rate() > 1:
            # the others shrink their share at their next renewal: wait for it before sending,
            # then count again (more may have started meanwhile, each waiting for this one)
            await asyncio.sleep(health.PRESENCE_EVERY * 1.5)
            await self.share_rate()
        self._presence = asyncio.create_task(self._presence_forever(), name="presence")
        await until_reachable("getMe", self._greet)
        recovered = await app.bot_data.dispatcher.recover()
        if recovered:
            log.warning("%s messages were mid-send when the last process stopped", recovered)
        await app.start()
        assert app.job_queue is not None
        jobs.register(app.job_queue)
        # the worker's first pass handles what a crash left stored but unhandled
        self.updates.start()
        if self.webhook is None:
            await until_reachable("deleteWebhook", self._leave_webhook)
            self._poller = asyncio.create_task(
                polling.poll_forever(app, self.updates.kick, caught_up=self.updates.caught_up),
                name="poller",
            )
        else:
            await self._take_webhook(self.webhook)

    async def _greet(self) -> None:
        """Telegram checks the token (getMe) and gets the command menu in every language."""
        app = self.application
        await app.initialize()
        for lang in self.ctx.i18n.languages:
            await app.bot.set_my_commands(
                menu.menu(self.ctx.i18n, lang),
                language_code=None if lang == self.ctx.i18n.default else lang,
            )

    async def _leave_webhook(self) -> None:
        # Telegram refuses getUpdates while a webhook is set; what it holds is kept for polling
        info = await self.application.bot.get_webhook_info()
        if info.url:
            log.warning("a webhook was set: removing it to poll instead")
        await self.application.bot.delete_webhook(drop_pending_updates=False)

    async def _take_webhook(self, hook: Webhook) -> None:
        # listening first: Telegram posts as soon as the webhook is set
        self._server = await webhook.serve(self.application, hook, self.updates.kick)
        try:
            await self.application.bot.set_webhook(
                hook.url,
                secret_token=hook.secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
        except BadRequest as err:
            raise ConfigError(
                f"AFTERCARE_WEBHOOK_URL: Telegram refused it ({err.message})"
            ) from None
        log.info("webhook set; listening on %s:%s", hook.host, hook.port)

    async def stop(self) -> None:
        # no new updates in, the one in hand finished; the webhook stays set for the others
        server, self._server = self._server, None
        if server is not None:
            await server.cleanup()
        await self.updates.stop()
        for task in (self._poller, self._presence):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        app = self.application
        if app.running:
            await app.stop()
        await app.shutdown()
        # a start-up that never got through (a refused token, a signal while waiting) left the
        # bot's connections open without initialising the application: close them too
        await app.bot.shutdown()
        with contextlib.suppress(Exception):
            await health.retire(self.ctx, self.process)


async def run(settings: Settings, *, use_webhook: bool = False) -> None:
    """`aftercare run`: until SIGINT or SIGTERM; with `use_webhook`, Telegram posts updates."""
    token = settings.require_token()
    hook = settings.require_webhook() if use_webhook else None
    crashpoints.arm(settings.crash_at)
    setup_logging()
    async with open_context(settings, migrate=True) as ctx:
        runtime = Runtime(build_application(settings, token, ctx), ctx, hook)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            # start-up may wait a long time for the Bot API: a signal meanwhile ends it cleanly
            starting = asyncio.create_task(runtime.start(), name="start")
            stopping = asyncio.create_task(stop.wait(), name="stop")
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
                return
            stopping.cancel()
            starting.result()  # a token Telegram refused: one line, exit code 2
            log.info("aftercare bot running (clock speed %s)", settings.clock_speed)
            await stop.wait()
        finally:
            await runtime.stop()
