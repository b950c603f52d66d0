"""The simulated Telegram world (users, chats, messages, files, updates) and its control API."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .models import JSON, SentMessage, TranscriptEntry
from .objects import (
    TINY_JPEG,
    TINY_MP3,
    TINY_MP4,
    TINY_OGG,
    TINY_PDF,
    button_text,
    command_entities,
    summary,
)

# Not a decodable image: nothing downstream renders stickers, it only needs bytes to serve.
TINY_WEBP = b"RIFF\x0c\x00\x00\x00WEBPVP8 "


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes

    def to_json(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


class World:
    """State shared by the HTTP Bot API and the control side; never touched from other threads."""

    def __init__(
        self,
        *,
        token: str,
        bot_username: str,
        clock: Callable[[], dt.datetime] | None,
        bot_name: str,
    ) -> None:
        head, sep, _ = token.partition(":")
        if not sep or not head.isdigit():
            raise ValueError(f"a bot token looks like '123456:SECRET', got {token!r}")
        self.token = token
        self.bot_id = int(head)
        self.bot_username = bot_username
        self._clock = clock or _utc_now
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, JSON] = {}
        self.members: dict[int, set[int]] = {}
        self.blocked: set[int] = set()
        self.store: dict[tuple[int, int], JSON] = {}
        self.messages: list[SentMessage] = []
        self.requests: list[tuple[str, JSON]] = []
        self.transcript: list[TranscriptEntry] = []
        self.callback_answers: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.profile: dict[str, str] = {}
        # setWebhook: while a URL is set, updates are posted to it (StandIn) and getUpdates
        # answers 409, as Telegram does
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_allowed_updates: list[str] | None = None
        self.webhook_max_connections = 40
        # (unix time, Telegram's wording) of the last failed delivery, for getWebhookInfo
        self.webhook_last_error: tuple[int, str] | None = None
        # every delivery attempt: (update_id, HTTP status, or None when no answer came)
        self.webhook_attempts: list[tuple[int, int | None]] = []
        self.updates_changed = asyncio.Event()
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._media: dict[str, tuple[str, Any]] = {}
        self._callback_queries: dict[str, JSON] = {}
        self._answered: set[str] = set()
        self._ids = itertools.count(1)

    def now(self) -> dt.datetime:
        return self._clock()

    def unix_now(self) -> int:
        return int(self.now().timestamp())

    def log(
        self,
        who: str,
        chat_id: int,
        text: str,
        kind: str,
        *,
        user_id: int | None = None,
        message_id: int | None = None,
    ) -> None:
        self.transcript.append(
            TranscriptEntry(who, chat_id, text, self.now(), kind, user_id, message_id)
        )

    def new_message(self, chat_id: int, sender: JSON, content: JSON) -> JSON:
        """Stores a message in a chat under the chat's next message id."""
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message: JSON = {
            "message_id": message_id,
            "date": self.unix_now(),
            "chat": dict(self.chats[chat_id]),
            "from": dict(sender),
            **content,
        }
        self.store[(chat_id, message_id)] = message
        return message

    def record_sent(self, sent: SentMessage) -> None:
        self.messages.append(sent)
        self._sent_index[(sent.chat_id, sent.message_id)] = sent

    def sent_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        return self._sent_index.get((chat_id, message_id))

    def push_update(self, update: JSON) -> int:
        update_id = update.get("update_id")
        if not isinstance(update_id, int):
            update_id = self._next_update_id
            update = {"update_id": update_id, **update}
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._updates.append(update)
        self.updates_changed.set()
        return update_id

    def confirm_updates(self, offset: int) -> None:
        """getUpdates semantics: an offset confirms everything before it; a negative one keeps
        only that many of the newest updates."""
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def pending_updates(self, limit: int) -> list[JSON]:
        return copy.deepcopy(self._updates[:limit])

    def drop_pending_updates(self) -> None:
        self._updates.clear()

    def delivered(self, update_id: int) -> None:
        """A webhook answered 2xx for this update: Telegram forgets it."""
        for index, pending in enumerate(self._updates):
            if pending["update_id"] == update_id:
                del self._updates[index]
                return

    def set_webhook(
        self,
        url: str,
        *,
        secret_token: str | None = None,
        allowed_updates: list[str] | None = None,
        max_connections: int = 40,
    ) -> None:
        """Updates go to `url` from now on (an empty one removes the webhook)."""
        self.webhook_url = url
        self.webhook_secret = secret_token or None if url else None
        self.webhook_allowed_updates = allowed_updates if url else None
        self.webhook_max_connections = max_connections
        self.webhook_last_error = None
        self.webhook_changed()

    def delete_webhook(self) -> None:
        self.set_webhook("")

    def webhook_changed(self) -> None:
        """Hook for the server, which delivers to the webhook; a held getUpdates wakes up."""
        self.updates_changed.set()

    @property
    def pending_update_count(self) -> int:
        return len(self._updates)

    def _add_file(self, data: bytes, folder: str, ext: str) -> StoredFile:
        n = next(self._ids)
        stored = StoredFile(
            file_id=f"{folder}-{n:06d}-{self.bot_id}",
            file_unique_id=f"uniq{n:06d}",
            file_path=f"{folder}/file_{n}.{ext}",
            data=data,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored
        return stored

    def file(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def file_at(self, file_path: str) -> StoredFile | None:
        return self._file_paths.get(file_path)

    def known_media(self, file_id: str) -> tuple[str, Any] | None:
        """(kind, Telegram media object) of an existing file id, to re-send it unchanged."""
        found = self._media.get(file_id)
        return (found[0], copy.deepcopy(found[1])) if found else None

    def create_media(
        self,
        kind: str,
        data: bytes | None = None,
        *,
        file_name: str | None = None,
        emoji: str = "👍",
    ) -> tuple[Any, str]:
        """A new Telegram media object of `kind` and the file id that stands for it."""
        media: Any
        if kind == "photo":
            content = data or TINY_JPEG
            sizes: list[JSON] = []
            for side in (90, 320):
                stored = self._add_file(content, "photos", "jpg")
                sizes.append({**stored.to_json(), "width": side, "height": side})
            for size in sizes:
                size.pop("file_path")
            media, file_id = sizes, sizes[-1]["file_id"]
            ids = [size["file_id"] for size in sizes]
        else:
            if kind == "sticker":
                stored = self._add_file(data or TINY_WEBP, "stickers", "webp")
                extra: JSON = {
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                    "emoji": emoji,
                }
            elif kind == "voice":
                stored = self._add_file(data or TINY_OGG, "voice", "oga")
                extra = {"duration": 1, "mime_type": "audio/ogg"}
            elif kind == "video":
                stored = self._add_file(data or TINY_MP4, "videos", "mp4")
                extra = {"duration": 2, "width": 320, "height": 240, "mime_type": "video/mp4"}
            elif kind == "video_note":
                # a round video message: square, its side is its `length`
                stored = self._add_file(data or TINY_MP4, "video_notes", "mp4")
                extra = {"duration": 2, "length": 240}
            elif kind == "audio":
                stored = self._add_file(data or TINY_MP3, "music", "mp3")
                extra = {"duration": 3, "mime_type": "audio/mpeg", "title": "Recording"}
            elif kind == "document":
                name = file_name or "document.pdf"
                ext = name.rsplit(".", 1)[-1] if "." in name else "bin"
                stored = self._add_file(data or TINY_PDF, "documents", ext)
                extra = {"file_name": name, "mime_type": _mime_type(ext)}
            else:
                raise ValueError(f"unsupported media kind {kind!r}")
            media = {**stored.to_json(), **extra}
            media.pop("file_path")
            file_id = stored.file_id
            ids = [file_id]
        for each in ids:
            self._media[each] = (kind, media)
        return copy.deepcopy(media), file_id

    def callback_query(self, query_id: str) -> JSON | None:
        return self._callback_queries.get(query_id)

    def answer_callback_query(self, query_id: str, answer: JSON) -> bool:
        """False when the query is unknown or was answered already, as Telegram refuses both."""
        if query_id not in self._callback_queries or query_id in self._answered:
            return False
        self._answered.add(query_id)
        self.callback_answers.append({"callback_query_id": query_id, **answer})
        return True

    def add_user(
        self,
        user_id: int,
        first_name: str = "Pat",
        *,
        language_code: str | None = "en",
        username: str | None = None,
    ) -> JSON:
        """A Telegram user; their private chat with the bot (id == user_id) exists from now on."""
        if user_id <= 0:
            raise ValueError(f"user ids are positive, got {user_id}")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if username is not None:
            user["username"] = chat["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        self.users[user_id] = user
        self.chats[user_id] = chat
        return dict(user)

    def add_group(self, chat_id: int, title: str = "Clinic staff") -> JSON:
        if chat_id >= 0:
            raise ValueError(f"group chat ids are negative, got {chat_id}")
        # Telegram's supergroup ids are -100 followed by the channel id.
        kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        chat: JSON = {"id": chat_id, "type": kind, "title": title}
        self.chats[chat_id] = chat
        self.members.setdefault(chat_id, set())
        return dict(chat)

    def add_member(self, chat_id: int, user_id: int) -> None:
        self._group(chat_id)
        self._user(user_id)
        self.members.setdefault(chat_id, set()).add(user_id)

    def block(self, user_id: int) -> None:
        """The user blocked the bot: every send into their private chat now fails with 403."""
        self._user(user_id)
        self.blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        content: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        return self._user_message(user_id, chat_id, content, "text", reply_to_message_id)

    def send_photo(
        self,
        user_id: int,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        data: bytes | None = None,
    ) -> int:
        media, _ = self.create_media("photo", data)
        content: JSON = {"photo": media}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, chat_id, content, "photo")

    def send_sticker(self, user_id: int, chat_id: int | None = None, *, emoji: str = "👍") -> int:
        media, _ = self.create_media("sticker", emoji=emoji)
        return self._user_message(user_id, chat_id, {"sticker": media}, "sticker")

    def send_voice(
        self, user_id: int, chat_id: int | None = None, *, caption: str | None = None
    ) -> int:
        return self.send_media(user_id, "voice", chat_id, caption=caption)

    def send_media(
        self,
        user_id: int,
        kind: str,
        chat_id: int | None = None,
        *,
        caption: str | None = None,
        data: bytes | None = None,
    ) -> int:
        """The user sends a voice note, a video, a round video message (`video_note`, which
        takes no caption), an audio file, or any other kind `create_media` makes."""
        media, _ = self.create_media(kind, data)
        content: JSON = {kind: media}
        if caption is not None and kind not in ("video_note", "sticker"):
            content["caption"] = caption
        return self._user_message(user_id, chat_id, content, kind)

    def send_document(
        self,
        user_id: int,
        chat_id: int | None = None,
        *,
        file_name: str = "document.pdf",
        caption: str | None = None,
        data: bytes | None = None,
    ) -> int:
        media, _ = self.create_media("document", data, file_name=file_name)
        content: JSON = {"document": media}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, chat_id, content, "document")

    def edit_text(
        self, user_id: int, message_id: int, new_text: str, chat_id: int | None = None
    ) -> int:
        """The user edits a text message they sent earlier: an `edited_message` update."""
        user = self._user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        message = self.store.get((chat_id, message_id))
        if message is None or message["from"]["id"] != user_id or "text" not in message:
            raise ValueError(f"user {user_id} sent no text message {message_id} in chat {chat_id}")
        message["text"] = new_text
        message["edit_date"] = self.unix_now()
        entities = command_entities(new_text)
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        self.log(
            user["first_name"], chat_id, new_text, "edit", user_id=user_id, message_id=message_id
        )
        return self.push_update({"edited_message": copy.deepcopy(message)})

    def press(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None) -> int:
        """The user taps an inline button (by its callback_data) under a bot message."""
        user = self._user(user_id)
        chat_id = user_id if chat_id is None else chat_id
        message = self.store.get((chat_id, message_id))
        if message is None or message["from"]["id"] != self.bot_id:
            raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
        query_id = f"{self.bot_id}-{next(self._ids)}"
        query: JSON = {
            "id": query_id,
            "from": dict(user),
            "message": copy.deepcopy(message),
            # Telegram derives chat_instance from the chat; any stable per-chat string will do.
            "chat_instance": str(abs(chat_id) * 31 + 7),
            "data": data,
        }
        self._callback_queries[query_id] = query
        label = button_text(message, data) or data
        self.log(
            user["first_name"],
            chat_id,
            f"[pressed: {label}]",
            "press",
            user_id=user_id,
            message_id=message_id,
        )
        return self.push_update({"callback_query": query})

    def inject_update(self, update: JSON) -> int:
        """Queues a raw update as-is, numbering it when it has no update_id."""
        return self.push_update(copy.deepcopy(update))

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages if m.chat_id == chat_id]

    def calls(self, method: str) -> list[JSON]:
        """Parameters of every call of one Bot API method, in order."""
        return [params for name, params in self.requests if name == method]

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        return copy.deepcopy(self.commands.get(scope_key(scope, language_code), []))

    def _user(self, user_id: int) -> JSON:
        user = self.users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id}: call add_user({user_id}) first")
        return user

    def _group(self, chat_id: int) -> JSON:
        chat = self.chats.get(chat_id)
        if chat is None or chat["type"] == "private":
            raise ValueError(f"unknown group {chat_id}: call add_group({chat_id}) first")
        return chat

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        content: JSON,
        kind: str,
        reply_to_message_id: int | None = None,
    ) -> int:
        user = self._user(user_id)
        if chat_id is None or chat_id == user_id:
            chat_id = user_id
        else:
            self._group(chat_id)
            self.members.setdefault(chat_id, set()).add(user_id)
        if reply_to_message_id is not None:
            target = self.store.get((chat_id, reply_to_message_id))
            if target is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
            replied = copy.deepcopy(target)
            replied.pop("reply_to_message", None)
            content = {**content, "reply_to_message": replied}
        message = self.new_message(chat_id, user, content)
        self.log(
            user["first_name"],
            chat_id,
            summary(message),
            kind,
            user_id=user_id,
            message_id=message["message_id"],
        )
        return self.push_update({"message": copy.deepcopy(message)})


def scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
    """Commands are stored per (scope, language) like Telegram does."""
    scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
    language = language_code if isinstance(language_code, str) else ""
    return json.dumps(scope, sort_keys=True), language


def _mime_type(ext: str) -> str:
    return {
        "pdf": "application/pdf",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "txt": "text/plain",
    }.get(ext.lower(), "application/octet-stream")
