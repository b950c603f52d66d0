"""Tests that drive the Telegram stand-in with the real python-telegram-bot client."""
