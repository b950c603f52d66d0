"""What every use case needs: the database, the clock, the protocols, the words, the clinic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain.hours import OpeningHours
from bot.domain.plan import QuietHours
from bot.domain.protocol import Protocol
from bot.domain.triage import Level
from bot.i18n import I18n
from bot.services.buttons import CallbackSigner
from bot.services.protocols import protocol_named
from bot.services.safety import Safety

# how long an alert may wait for an acknowledgement before staff are chased (a product choice:
# docs/clinical.md#staff-acknowledgement-times)
ACK_TIMEOUTS = {
    Level.EMERGENCY: dt.timedelta(minutes=5),
    Level.URGENT: dt.timedelta(minutes=15),
    Level.UNUSUAL: dt.timedelta(hours=2),
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
    ack_timeouts: Mapping[Level, dt.timedelta] = field(default_factory=lambda: dict(ACK_TIMEOUTS))

    # None: no opening hours set, the clinic is taken to be reachable
    opening_hours: OpeningHours | None = None
    out_of_hours_phone: str = ""

    def is_open(self, at: dt.datetime) -> bool:
        return self.opening_hours is None or self.opening_hours.is_open(at, self.zone)

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        return self.opening_hours.next_opening(at, self.zone) if self.opening_hours else None

    def ack_timeout(self, level: Level) -> dt.timedelta:
        return self.ack_timeouts.get(level, ACK_TIMEOUTS[Level.UNUSUAL])

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
    # the danger-words safety net, loaded once (bot/safety/<language>.toml)
    safety: Safety
    # set by the composition root: wakes the dispatcher when new work may be due now
    wake: Callable[[], None] = field(default=lambda: None)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def protocol(self, treatment: str) -> Protocol:
        return protocol_named(self.protocols, treatment)
