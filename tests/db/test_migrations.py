"""The migrations and the models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from bot.db.engine import make_engine
from bot.db.migrate import head_revision
from bot.db.models import Base


async def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        changes = await connection.run_sync(diff)
        revision = await connection.run_sync(
            lambda c: MigrationContext.configure(c).get_current_revision()
        )
    await engine.dispose()
    assert changes == [], "models changed without a migration: alembic revision --autogenerate"
    assert revision == head_revision()


async def test_database_errors_never_quote_what_patients_wrote(database_url: str) -> None:
    """A failed statement's error (which ends up in logs) hides the values it carried."""
    import sqlalchemy as sa

    from bot.config import normalise_database_url
    from bot.db.engine import make_engine

    engine = make_engine(normalise_database_url(database_url))
    try:
        with pytest.raises(sa.exc.DBAPIError) as failed:  # patient needs more columns
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text("INSERT INTO patient (name) VALUES (:name)"),
                    {"name": "my cheek is bleeding, Zoe Quartermaine"},
                )
    finally:
        await engine.dispose()
    assert "Quartermaine" not in str(failed.value)
    assert "parameters hidden" in str(failed.value)
