"""Column types: aware UTC datetimes on every backend, and triage levels by name."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator

from bot.domain.triage import Level


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC and always gives back an aware datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class LevelType(TypeDecorator[Level]):
    """A triage level, stored by its lower-case name (`urgent`), read back as the enum."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: Level | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return value.name_key if isinstance(value, Level) else Level.parse(value).name_key

    def process_result_value(self, value: Any, dialect: Dialect) -> Level | None:
        return None if value is None else Level.parse(str(value))
