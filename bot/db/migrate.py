"""Schema upgrades through Alembic, driven from the command line and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command


def migrations_dir(package: Path) -> Path:
    """Where the migrations are for the bot package at `package`: a wheel carries them inside it
    (bot/migrations, see pyproject.toml); a checkout or an editable install keeps them at the top
    of the source tree (alembic/), beside it."""
    packaged = package / "migrations"
    return packaged if (packaged / "env.py").is_file() else package.parent / "alembic"


ALEMBIC_DIR = migrations_dir(Path(__file__).resolve().parents[1])


def alembic_config(url: str) -> Config:
    if not (ALEMBIC_DIR / "env.py").is_file():
        raise FileNotFoundError(
            f"migrations not found at {ALEMBIC_DIR}: the package was built without them"
        )
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to `revision`; safe to call on an up-to-date database."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so it goes to a thread when a loop is already running.
    await asyncio.to_thread(upgrade, url, revision)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(_read)
