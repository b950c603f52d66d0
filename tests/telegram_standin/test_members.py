"""getChatMemberCount: the stand-in counts a group's members, the bot included."""

from __future__ import annotations

import httpx
import pytest
import telegram

from telegram_standin import Fault, StandIn

STAFF, JOY, SAM = -5001, 1001, 1002


async def test_a_groups_members_are_counted_with_the_bot() -> None:
    async with StandIn() as standin:
        standin.add_user(JOY, "Joy")
        standin.add_user(SAM, "Sam")
        standin.add_group(STAFF)
        async with telegram.Bot(standin.token, base_url=f"{standin.base_url}/bot") as bot:
            assert await bot.get_chat_member_count(STAFF) == 1
            standin.add_member(STAFF, JOY)
            async with httpx.AsyncClient() as http:  # the control side can add one too
                added = await http.post(
                    f"{standin.base_url}/_control/members", json={"chat_id": STAFF, "user_id": SAM}
                )
            assert added.json() == {"ok": True, "result": {}}
            assert await bot.get_chat_member_count(STAFF) == 3
            assert await bot.get_chat_member_count(JOY) == 2  # a private chat: user and bot
            standin.fail_next(
                "getChatMemberCount", Fault.bad_request("Bad Request: chat not found")
            )
            with pytest.raises(telegram.error.BadRequest, match=r"(?i)chat not found"):
                await bot.get_chat_member_count(STAFF)
