"""Settings: the one reader of the environment (prefix AFTERCARE_, a .env file honoured)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import crashpoints
from bot.domain.hours import OpeningHours
from bot.domain.protocol import parse_duration
from bot.domain.triage import Level
from bot.errors import ConfigError

TELEGRAM_API_URL = "https://api.telegram.org"
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
# what Telegram accepts as a webhook's secret_token
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LISTEN = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})$")


def normalise_database_url(url: str) -> str:
    """Accept plain sqlite:// and postgresql:// URLs; the app runs on their async drivers."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
        return url
    raise ValueError("use a sqlite:///path or postgresql://user@host/db URL")


def parse_listen(text: str) -> tuple[str, int]:
    """`0.0.0.0:8443`, `127.0.0.1:8080` or `[::]:8443` → (host, port)."""
    found = _LISTEN.match(text.strip())
    port = int(found["port"]) if found else 0
    if found is None or not 0 < port < 65536:
        raise ValueError("must look like 0.0.0.0:8443 (an address and a port from 1 to 65535)")
    return found["v6"] or found["host"], port


@dataclass(frozen=True)
class Webhook:
    """Webhook mode, checked: where Telegram posts, where we listen, the secret it sends."""

    url: str
    host: str
    port: int
    path: str
    secret: str = field(repr=False)


def parse_ack_timeouts(text: str) -> dict[Level, dt.timedelta]:
    """`emergency=5m,urgent=15m,unusual=2h` → durations by level."""
    result: dict[Level, dt.timedelta] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        level, _, duration = part.partition("=")
        if level.strip() not in ("emergency", "urgent", "unusual"):
            raise ValueError(f"unknown level {level.strip()!r} (emergency, urgent, unusual)")
        try:
            value = parse_duration(duration.strip())
        except ValueError:
            raise ValueError(f"{duration.strip()!r} is not a duration like 5m or 2h") from None
        if value <= dt.timedelta(0):
            raise ValueError(f"the time for {level.strip()} must be positive")
        result[Level.parse(level.strip())] = value
    return result


class Settings(BaseSettings):
    """Everything the bot can be told from outside; read once in the entry point."""

    model_config = SettingsConfigDict(
        env_prefix="AFTERCARE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(default_factory=lambda: f"sqlite:///{Path.cwd() / 'aftercare.db'}")
    bot_token: SecretStr | None = None
    bot_api_url: str = TELEGRAM_API_URL
    staff_chat_id: int | None = None
    timezone: str = "UTC"
    clinic_name: str = "Your clinic"
    clinic_phone: str = ""
    emergency_number: str = "112"
    quiet_hours: str = "21:00-08:00"
    protocols_dir: Path | None = None
    clock_speed: float = 1.0
    default_language: str = "en"
    # the staff chat's language (alerts, reminders, notices); the default language if unset
    staff_language: str | None = None
    invite_days: int = 7
    bot_username: str = "aftercare_bot"
    # the largest CSV file `import sessions` takes, in bytes (about 100 bytes a row)
    import_max_bytes: int = 50 * 1024 * 1024
    # how long an alert waits for an acknowledgement before staff are reminded, by level
    ack_timeouts: str = "emergency=5m,urgent=15m,unusual=2h"
    # when the clinic answers its phone, in its zone: `Mon-Fri 09:00-19:00, Sat 09:00-13:00`;
    # empty: an urgent answer always says to call the clinic now
    opening_hours: str = ""
    # the route that works when the clinic is closed (an on-call or urgent-care number)
    out_of_hours_phone: str = ""
    # messages a second this process may send overall (Telegram allows about 30 per bot; with
    # several processes, give each its share)
    send_rate: int = 29
    # seconds after which a message left "sending" by a process that died is settled (patients:
    # uncertain, never resent; staff: sent again); longer than any send can take
    claim_lease: float = 300.0
    # seconds to wait for Telegram's answer to a send; past it the message is "uncertain"
    send_timeout: float = 10.0
    # updates of different chats this process handles at once (each chat's one at a time)
    update_concurrency: int = 8
    # a patient's messages a minute answered one by one; past it, answered once that the clinic
    # has them all (all still reach staff)
    intake_per_minute: int = 20
    # answers a minute to people who are not linked, all together (each at most one a minute)
    stranger_replies_per_minute: int = 20
    # the fault suite only: kill the process at a named point of the send path (bot.crashpoints)
    crash_at: str | None = None
    # `run --webhook`: the public address Telegram posts updates to (its path is served), the
    # local address the server listens on (TLS is left to the proxy in front), and the secret
    # Telegram sends back in every request's X-Telegram-Bot-Api-Secret-Token header
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0:8443"
    webhook_secret: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("bot_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
            raise ValueError("must be the https:// address Telegram is to post updates to")
        return value.strip()

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters, each a letter, a digit, _ or -")
        return value

    @field_validator("crash_at")
    @classmethod
    def _crash_at(cls, value: str | None) -> str | None:
        if value:
            crashpoints.parse(value)
        return value or None

    @field_validator("update_concurrency", "intake_per_minute", "stranger_replies_per_minute")
    @classmethod
    def _positive(cls, value: int) -> int:
        if not 1 <= value <= 10_000:
            raise ValueError("must be a whole number from 1 to 10000")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use a name like Europe/Paris)"
            ) from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if not _QUIET.match(value.strip()):
            raise ValueError("must look like 21:00-08:00")
        return value.strip()

    @field_validator("ack_timeouts")
    @classmethod
    def _ack_timeouts(cls, value: str) -> str:
        parse_ack_timeouts(value)
        return value

    @field_validator("opening_hours")
    @classmethod
    def _opening_hours(cls, value: str) -> str:
        if value.strip():
            OpeningHours.parse(value)
        return value.strip()

    @field_validator("clock_speed")
    @classmethod
    def _clock_speed(cls, value: float) -> float:
        if not 0 < value <= 10_000_000:
            raise ValueError("must be a positive number of simulated seconds per real second")
        return value

    @field_validator("import_max_bytes")
    @classmethod
    def _import_max_bytes(cls, value: int) -> int:
        if value < 1024:
            raise ValueError("must be a number of bytes, at least 1024")
        return value

    @field_validator("protocols_dir")
    @classmethod
    def _protocols_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    @property
    def clinic_zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def invite_ttl(self) -> dt.timedelta:
        return dt.timedelta(days=self.invite_days)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def require_token(self) -> str:
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise ConfigError("AFTERCARE_BOT_TOKEN is not set: give the bot token from @BotFather")
        token = self.bot_token.get_secret_value().strip()
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            raise ConfigError("AFTERCARE_BOT_TOKEN is malformed: expected digits, ':' and a key")
        return token

    def require_webhook(self) -> Webhook:
        if self.webhook_url is None:
            raise ConfigError(
                "AFTERCARE_WEBHOOK_URL is not set: give the https:// address Telegram is to "
                "post updates to (for run --webhook)"
            )
        if self.webhook_secret is None:
            raise ConfigError(
                "AFTERCARE_WEBHOOK_SECRET is not set: choose 1 to 256 letters, digits, _ or - "
                "(Telegram sends it with every update, for run --webhook)"
            )
        host, port = parse_listen(self.webhook_listen)
        return Webhook(
            url=self.webhook_url,
            host=host,
            port=port,
            path=urlsplit(self.webhook_url).path or "/",
            secret=self.webhook_secret.get_secret_value(),
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad one becomes one ConfigError line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors()[0]
        name = "AFTERCARE_" + str(first["loc"][0]).upper() if first["loc"] else "AFTERCARE_*"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
