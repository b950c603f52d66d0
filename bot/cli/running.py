"""`aftercare run` and `aftercare demo`: the bot itself, and the whole journey on a fast clock."""

from __future__ import annotations

import asyncio

import click

from bot import app
from bot.cli.runner import Invocation, pass_invocation


@click.command("run")
@click.option(
    "--webhook",
    "use_webhook",
    is_flag=True,
    help="Take updates from Telegram's posts (AFTERCARE_WEBHOOK_*) instead of polling; "
    "several processes may run it side by side.",
)
@pass_invocation
def run(obj: Invocation, use_webhook: bool) -> None:
    """Run the bot: long polling (or a webhook), handlers and the dispatcher, until stopped."""
    asyncio.run(app.run(obj.settings, use_webhook=use_webhook))


@click.command("demo")
@click.option("--speed", type=float, default=None, help="Simulated seconds per real second.")
@click.option("--treatment", default="face", show_default=True)
@click.option("--language", default="en", show_default=True)
def demo(speed: float | None, treatment: str, language: str) -> None:
    """The whole journey against the loopback Telegram stand-in, on a fast clock."""
    # imported here, not at the top: the demo brings in the Telegram stand-in, which the bot
    # itself never loads (DESIGN.md); `aftercare run` and the other commands stay without it
    from bot import demo as demo_module

    asyncio.run(demo_module.run_demo(speed=speed, treatment=treatment, language=language))
