"""The /_control/ JSON endpoints: a thin HTTP skin over StandIn's Python control API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .models import JSON, Fault

if TYPE_CHECKING:
    from .server import StandIn

Action = Callable[[JSON], Any]


def control_routes(standin: StandIn) -> list[web.RouteDef]:
    def opt_int(body: JSON, name: str) -> int | None:
        value = body.get(name)
        return None if value is None else int(value)

    def add_user(body: JSON) -> JSON:
        return standin.add_user(
            int(body["user_id"]),
            str(body.get("first_name", "Pat")),
            language_code=body.get("language_code", "en"),
            username=body.get("username"),
        )

    def add_group(body: JSON) -> JSON:
        return standin.add_group(int(body["chat_id"]), str(body.get("title", "Clinic staff")))

    def add_member(body: JSON) -> JSON:
        standin.add_member(int(body["chat_id"]), int(body["user_id"]))
        return {}

    def send_message(body: JSON) -> JSON:
        update_id = standin.send_text(
            int(body["user_id"]),
            str(body["text"]),
            chat_id=opt_int(body, "chat_id"),
            reply_to_message_id=opt_int(body, "reply_to_message_id"),
        )
        return {"update_id": update_id}

    def press(body: JSON) -> JSON:
        update_id = standin.press(
            int(body["user_id"]),
            int(body["message_id"]),
            str(body["data"]),
            chat_id=opt_int(body, "chat_id"),
        )
        return {"update_id": update_id}

    def add_fault(body: JSON) -> JSON:
        standin.fail_next(
            str(body["method"]),
            Fault.from_json(body),
            count=int(body.get("count", 1)),
            chat_id=opt_int(body, "chat_id"),
        )
        return {}

    def block(body: JSON) -> JSON:
        standin.block(int(body["user_id"]))
        return {}

    def unblock(body: JSON) -> JSON:
        standin.unblock(int(body["user_id"]))
        return {}

    async def sent(request: web.Request) -> web.StreamResponse:
        raw = request.query.get("chat_id")
        try:
            messages = standin.messages if raw is None else standin.sent_to(int(raw))
        except ValueError:
            return _error("chat_id must be an integer")
        return web.json_response({"ok": True, "result": [m.to_json() for m in messages]})

    async def transcript(request: web.Request) -> web.StreamResponse:
        entries = [entry.to_json() for entry in standin.transcript]
        return web.json_response({"ok": True, "result": entries})

    return [
        web.post("/_control/users", _post(add_user)),
        web.post("/_control/groups", _post(add_group)),
        web.post("/_control/members", _post(add_member)),
        web.post("/_control/messages", _post(send_message)),
        web.post("/_control/press", _post(press)),
        web.post("/_control/faults", _post(add_fault)),
        web.post("/_control/block", _post(block)),
        web.post("/_control/unblock", _post(unblock)),
        web.get("/_control/sent", sent),
        web.get("/_control/transcript", transcript),
    ]


def _post(action: Action) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error("body must be JSON")
        if not isinstance(body, dict):
            return _error("body must be a JSON object")
        try:
            result = action(body)
        except KeyError as missing:
            return _error(f"missing field {missing}")
        except (TypeError, ValueError) as problem:
            return _error(str(problem))
        return web.json_response({"ok": True, "result": result})

    return handler


def _error(message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=400)
