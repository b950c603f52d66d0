"""Persistence: models, the engine and session factory, and queries (which never commit)."""
