"""No bot token in any log line."""

from __future__ import annotations

import logging

from bot.app import RedactToken


def test_the_token_is_redacted_from_request_urls() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: POST %s "HTTP/1.1 200 OK"',
        ("https://api.telegram.org/bot123456:AAbbCC-dd_ee/sendMessage",),
        None,
    )
    assert RedactToken().filter(record)
    assert "123456:AAbbCC" not in record.getMessage()
    assert "bot<token>/sendMessage" in record.getMessage()
