"""Use cases: each owns its transaction and reaches the outside world through ports."""
