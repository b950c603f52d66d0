"""Loopback Telegram Bot API stand-in for tests and `aftercare demo`: the package's public names."""

from .models import Exchange, Fault, SentMessage, TranscriptEntry
from .server import StandIn

__all__ = ["Exchange", "Fault", "SentMessage", "StandIn", "TranscriptEntry"]
