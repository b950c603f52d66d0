"""The danger-word phrase files shipped with the bot, one per language (bot/services/safety.py)."""
