"""Button payloads: signed, short, and checked before anything acts on them.

Callback data comes back from Telegram as untrusted input. Each payload is `action:id:mac`, where
the MAC (HMAC-SHA256 over action and id, cut to 10 bytes of base64) proves we made it; the press
is then still checked against who pressed it and the current state by the service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

MAX_BYTES = 64  # Telegram's limit for callback_data


@dataclass(frozen=True)
class Payload:
    action: str
    ref: int


class CallbackSigner:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"aftercare-callback:" + secret).digest()

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:10]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, action: str, ref: int) -> str:
        body = f"{action}:{ref}"
        data = f"{body}:{self._mac(body)}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError("callback data over Telegram's 64 bytes")
        return data

    def verify(self, data: str | None) -> Payload | None:
        """The payload if we signed it, else None (forged, truncated or from an old secret)."""
        if not data or len(data.encode()) > MAX_BYTES:
            return None
        parts = data.split(":")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        body = f"{parts[0]}:{parts[1]}"
        if not hmac.compare_digest(self._mac(body), parts[2]):
            return None
        return Payload(parts[0], int(parts[1]))
