"""The project's error hierarchy: what went wrong, said plainly."""


class AftercareError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(AftercareError):
    """A setting is missing or malformed; start-up stops with this one line."""


class BadInput(AftercareError):
    """Something a person typed or sent cannot be used; nothing was changed."""


class NotFound(BadInput):
    """A record named on the command line does not exist."""


class DeliveryError(AftercareError):
    """Sending to Telegram did not succeed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    """The request never reached Telegram, or Telegram asked to try again: safe to retry."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, unreachable: bool = False
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        # no connection could be made at all: Telegram (or the network) is down, for every chat
        self.unreachable = unreachable


class UncertainDelivery(DeliveryError):
    """The request left but no answer came: the message may have arrived."""


class PermanentDeliveryError(DeliveryError):
    """Telegram refused this message for good (400)."""


class RecipientBlocked(DeliveryError):
    """The recipient blocked the bot (403): stop sending to them."""
