"""Shared fixtures: a migrated database per test (SQLite, or PostgreSQL when asked), a context."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.clock import FrozenClock
from bot.config import Settings, normalise_database_url
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.migrate import upgrade
from bot.db.models import Base
from bot.domain.plan import QuietHours
from bot.i18n import I18n
from bot.services.buttons import CallbackSigner
from bot.services.context import Clinic, Context
from bot.services.protocols import load_protocols
from bot.services.safety import Safety, load_safety

# python-telegram-bot 22 warns on every RetryAfter unless told to use timedeltas (its v23 default).
os.environ.setdefault("PTB_TIMEDELTA", "true")
PG_URL = os.environ.get("AFTERCARE_TEST_DATABASE_URL")
TABLES = tuple(t.name for t in Base.metadata.sorted_tables)
# A Monday in winter, so quiet hours and DST tests start from known ground.
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TOKEN = "123456:TEST-TOKEN"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrated once per run: a SQLite file to copy, or the PostgreSQL database itself."""
    if PG_URL:
        url = normalise_database_url(PG_URL)

        async def reset() -> None:
            engine = make_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(reset())
        upgrade(url)
        return url
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:

        async def truncate() -> None:
            engine = make_engine(_template)
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            await engine.dispose()

        asyncio.run(truncate())
        yield _template
        return
    path = tmp_path / "aftercare.db"
    shutil.copy(_template, path)
    yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        bot_token=TOKEN,  # type: ignore[arg-type]
        staff_chat_id=-1001,
        timezone="Europe/Paris",
        clinic_name="Clinique Test",
        clinic_phone="+33 1 23 45 67 89",
        emergency_number="112",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def make_context(settings: Settings, clock: object) -> tuple[Context, object]:
    engine = make_engine(settings.database_url)
    ctx = Context(
        db=make_sessionmaker(engine),
        clock=clock,  # type: ignore[arg-type]
        protocols=load_protocols(None),
        i18n=I18n.shipped("en"),
        clinic=Clinic(
            name=settings.clinic_name,
            phone=settings.clinic_phone,
            emergency_number=settings.emergency_number,
            timezone=settings.timezone,
            quiet=QuietHours.parse(settings.quiet_hours),
            staff_chat_id=settings.staff_chat_id,
            default_language="en",
            invite_ttl=settings.invite_ttl,
            bot_username="aftercare_test_bot",
        ),
        signer=CallbackSigner(TOKEN.encode()),
        safety=shipped_safety(),
    )
    return ctx, engine


@functools.cache
def shipped_safety() -> Safety:
    """Loaded once for the whole run: it is immutable but for a cache of single words."""
    return load_safety()


@pytest.fixture
async def ctx(settings: Settings, clock: FrozenClock) -> AsyncIterator[Context]:
    context, engine = make_context(settings, clock)
    yield context
    await engine.dispose()  # type: ignore[attr-defined]
