"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # an error's text and the logs never carry a statement's values: they are patients' words
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs)


_HAS_TURN = "aftercare.has_turn"


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is turned off so that BEGIN IMMEDIATE (below) is
        # ours: a claim must hold the write lock from its first read.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    # One writer at a time, in the order they asked. SQLite's own wait (busy_timeout) sleeps
    # and tries again, so a task writing back to back (a patient's flood of messages) kept
    # winning the lock while another task's press slept (p95 1.5 s → 0.05 s in
    # benchmarks/flood.py); this process's transactions queue here instead, first come, first
    # served. busy_timeout still covers other processes (the command line).
    turn = asyncio.Lock()

    def _give_back(info: dict[Any, Any]) -> None:
        if info.pop(_HAS_TURN, False):
            turn.release()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        await_only(turn.acquire())
        conn.info[_HAS_TURN] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _give_back(conn.info)
            raise

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _on_end(conn: Any) -> None:
        _give_back(conn.info)

    # a connection given back to the pool, or dropped, in the middle of a transaction
    @event.listens_for(engine.sync_engine, "checkin")
    @event.listens_for(engine.sync_engine, "invalidate")
    @event.listens_for(engine.sync_engine, "close")
    def _on_drop(_dbapi_conn: Any, record: Any, *_: Any) -> None:
        _give_back(record.info)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
