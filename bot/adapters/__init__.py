"""Adapters: the services' ports over real I/O."""
