"""Staff members: who may act on alerts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db import queries
from bot.db.models import StaffMember, StaffRole
from bot.errors import BadInput, NotFound
from bot.services.context import Context
from bot.services.inputs import check_name, check_telegram_user_id


async def add_staff(
    ctx: Context, telegram_user_id: int, name: str, role: str, on_call: bool = True
) -> StaffMember:
    try:
        staff_role = StaffRole(role)
    except ValueError:
        roles = ", ".join(r.value for r in StaffRole)
        raise BadInput(f"unknown role {role[:30]!r} (use one of: {roles})") from None
    name = check_name(name, "a staff member")
    check_telegram_user_id(telegram_user_id)
    now = ctx.now()
    try:
        async with ctx.db.begin() as db:
            member = StaffMember(
                telegram_user_id=telegram_user_id,
                name=name,
                role=staff_role,
                is_on_call=on_call,
                created_at=now,
            )
            db.add(member)
            await db.flush()
            queries.add_audit(db, now, "cli", "staff.add", f"staff:{member.id}")
    except IntegrityError:
        raise BadInput(f"Telegram user {telegram_user_id} is already registered as staff") from None
    return member


async def list_staff(ctx: Context) -> Sequence[StaffMember]:
    async with ctx.db() as db:
        return (await db.execute(select(StaffMember).order_by(StaffMember.id))).scalars().all()


async def remove_staff(ctx: Context, telegram_user_id: int) -> StaffMember:
    check_telegram_user_id(telegram_user_id)
    now = ctx.now()
    async with ctx.db.begin() as db:
        member = await queries.staff_by_telegram(db, telegram_user_id)
        if member is None:
            raise NotFound(f"no staff member with Telegram id {telegram_user_id}")
        await db.delete(member)
        queries.add_audit(db, now, "cli", "staff.remove", f"staff:{member.id}")
    return member
