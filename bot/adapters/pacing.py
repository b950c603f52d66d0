"""Every outgoing Telegram call paced through one limiter, replies and scheduled sends alike."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any, TypedDict

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.adapters.ratelimit import RateLimiter

# Bot API methods that post a message into a chat, and so count against Telegram's limits.
_SENDS = frozenset({"copyMessage", "forwardMessage"})


class PacingArgs(TypedDict, total=False):
    # False for the dispatcher: it records a 429 on the outbox row and reschedules it itself
    retry: bool


def _chat_id(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None  # a @channel name: not one of ours


def retry_seconds(err: RetryAfter) -> float:
    value = err.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class Pacing(BaseRateLimiter[PacingArgs]):
    def __init__(self, limiter: RateLimiter, max_retries: int = 2) -> None:
        self.limiter = limiter
        self.max_retries = max_retries

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: PacingArgs | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = _chat_id(data.get("chat_id"))
        is_send = endpoint.startswith("send") or endpoint in _SENDS
        paced = is_send and endpoint != "sendChatAction" and chat is not None
        retry = (rate_limit_args or {}).get("retry", True)
        attempt = 0
        while True:
            try:
                if not paced:
                    return await callback(*args, **kwargs)
                assert chat is not None
                async with self.limiter.slot(chat):
                    return await callback(*args, **kwargs)
            except RetryAfter as err:
                seconds = retry_seconds(err)
                self.limiter.pause(seconds)
                if not retry or attempt >= self.max_retries:
                    raise
                attempt += 1
                # a reply to a patient is worth a short wait rather than being dropped
                await asyncio.sleep(self.limiter.real_seconds(seconds))
