"""What every use case needs: the database, the clock, the protocols, the words, the clinic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain.plan import QuietHours
from bot.domain.protocol import Protocol
from bot.errors import BadInput
from bot.i18n import I18n
from bot.services.callbacks import CallbackSigner

ACK_TIMEOUTS = {
    "emergency": dt.timedelta(minutes=5),
    "urgent": dt.timedelta(minutes=15),
    "unusual": dt.timedelta(hours=2),
}


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    emergency_number: str
    timezone: str
    quiet: QuietHours
    staff_chat_id: int | None
    default_language: str
    invite_ttl: dt.timedelta
    bot_username: str
    staff_language: str = "en"
    # how long an alert may wait for an acknowledgement, by level, before staff are chased
    ack_timeouts: Mapping[str, dt.timedelta] = field(default_factory=lambda: dict(ACK_TIMEOUTS))

    def ack_timeout(self, level: str) -> dt.timedelta:
        return self.ack_timeouts.get(level, ACK_TIMEOUTS["unusual"])

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass
class Context:
    """Built once by the composition root and handed to every service call."""

    db: async_sessionmaker[AsyncSession]
    clock: Clock
    protocols: dict[str, Protocol]
    i18n: I18n
    clinic: Clinic
    signer: CallbackSigner
    # set by the composition root: wakes the dispatcher when new work may be due now
    wake: Callable[[], None] = field(default=lambda: None)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def protocol(self, treatment: str) -> Protocol:
        try:
            return self.protocols[treatment]
        except KeyError:
            known = ", ".join(sorted(self.protocols))
            raise BadInput(f"unknown treatment {treatment!r} (known: {known})") from None
