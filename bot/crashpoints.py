"""Named points where the fault suite kills the process (`AFTERCARE_CRASH_AT=point:N`: SIGKILL
the N-th time `point` is reached), so a test can stop the bot exactly between two steps of the
send path. Off unless armed; an unarmed point costs one comparison."""

from __future__ import annotations

import os
import signal

POINTS = ("dispatch.claimed", "dispatch.answered", "dispatch.recorded")

_armed: tuple[str, int] | None = None
_reached: dict[str, int] = {}


def parse(spec: str) -> tuple[str, int]:
    name, _, nth = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r} (one of {', '.join(POINTS)})")
    if not nth.isdigit() or int(nth) < 1:
        raise ValueError(f"{spec!r}: give the point and a count from 1, like {POINTS[0]}:2")
    return name, int(nth)


def arm(spec: str | None) -> None:
    """`point:N`; empty or None disarms."""
    global _armed
    _reached.clear()
    _armed = parse(spec) if spec else None


def reach(name: str) -> None:
    if _armed is None or _armed[0] != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] == _armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)
