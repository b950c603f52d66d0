"""Telegram in: parse an update, call one service, reply."""
