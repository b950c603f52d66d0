"""The stand-in speaks enough Bot API for the real python-telegram-bot client, faults included."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.ext import CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from telegram_standin import Fault, StandIn
from telegram_standin.objects import TINY_JPEG

PAT = 1001
SAM = 1002
STAFF = -5001


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in pairs]
    )


def client(standin: StandIn, *, read_timeout: float | None = None) -> telegram.Bot:
    # PTB appends the token to both base URLs.
    return telegram.Bot(
        standin.token,
        base_url=f"{standin.base_url}/bot",
        base_file_url=f"{standin.base_url}/file/bot",
        request=HTTPXRequest(read_timeout=read_timeout) if read_timeout else None,
    )


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with StandIn() as running:
        running.add_user(PAT, "Pat")
        running.add_user(SAM, "Sam", language_code="de")
        running.add_group(STAFF)
        yield running


@pytest_asyncio.fixture
async def bot(standin: StandIn) -> AsyncIterator[telegram.Bot]:
    async with client(standin) as ptb_bot:
        yield ptb_bot


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22.8 warns whenever it builds a RetryAfter unless opted into timedelta values, and
    # warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.mark.asyncio
async def test_get_me_describes_the_bot(standin: StandIn, bot: telegram.Bot) -> None:
    me = await bot.get_me()

    assert me.id == standin.bot_id == 123456
    assert me.is_bot
    assert me.username == "aftercare_test_bot"
    assert me.can_join_groups is True
    assert standin.requests[0][0] == "getMe"


@pytest.mark.asyncio
async def test_send_message_with_inline_keyboard_round_trips(
    standin: StandIn, bot: telegram.Bot
) -> None:
    markup = keyboard(("Yes", "checkin:yes"), ("No", "checkin:no"))

    message = await bot.send_message(
        PAT, "<b>How are you?</b>", reply_markup=markup, parse_mode="HTML"
    )

    assert message.chat.id == PAT
    assert message.from_user is not None
    assert message.from_user.id == standin.bot_id
    assert message.reply_markup == markup
    [sent] = standin.sent_to(PAT)
    assert (sent.message_id, sent.text, sent.parse_mode) == (
        message.message_id,
        "<b>How are you?</b>",
        "HTML",
    )
    assert sent.reply_markup == markup.to_dict()
    assert sent.callback_data("No") == "checkin:no"
    assert standin.transcript[-1].who == "bot"
    assert standin.transcript[-1].text == "<b>How are you?</b>"


@pytest.mark.asyncio
async def test_message_ids_increase_per_chat(standin: StandIn, bot: telegram.Bot) -> None:
    first = await bot.send_message(PAT, "one")
    standin.send_text(PAT, "reply")
    second = await bot.send_message(PAT, "two")
    other = await bot.send_message(SAM, "one")

    assert (first.message_id, second.message_id, other.message_id) == (1, 3, 1)


@pytest.mark.asyncio
async def test_long_poll_returns_an_injected_start_command(
    standin: StandIn, bot: telegram.Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await standin.wait_for(lambda: any(method == "getUpdates" for method, _ in standin.requests))
    assert not poll.done()

    update_id = standin.send_text(PAT, "/start@aftercare_test_bot welcome")
    updates = await asyncio.wait_for(poll, 2)

    [update] = updates
    assert update.update_id == update_id
    assert update.message is not None
    assert update.message.text == "/start@aftercare_test_bot welcome"
    assert update.message.entities == (
        MessageEntity(MessageEntity.BOT_COMMAND, 0, len("/start@aftercare_test_bot")),
    )
    assert CommandHandler("start", _unused_callback).check_update(update)
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


@pytest.mark.asyncio
async def test_long_poll_holds_until_its_timeout(bot: telegram.Bot) -> None:
    started = time.monotonic()

    assert await bot.get_updates(timeout=dt.timedelta(milliseconds=100)) == ()
    assert time.monotonic() - started >= 0.09


@pytest.mark.asyncio
async def test_button_press_arrives_as_callback_query(standin: StandIn, bot: telegram.Bot) -> None:
    message = await bot.send_message(PAT, "Pain today?", reply_markup=keyboard(("Mild", "pain:1")))

    standin.press(PAT, message.message_id, "pain:1")
    [update] = await bot.get_updates(timeout=1)

    query = update.callback_query
    assert query is not None
    assert query.data == "pain:1"
    assert query.from_user.id == PAT
    assert isinstance(query.message, telegram.Message)
    assert query.message.message_id == message.message_id
    assert standin.transcript[-1].text == "[pressed: Mild]"
    assert await query.answer("Noted", show_alert=True)
    assert standin.callback_answers[-1]["text"] == "Noted"
    assert standin.callback_answers[-1]["show_alert"] is True
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)query is too old"):
        await query.answer("again")


@pytest.mark.asyncio
async def test_edit_message_text_and_markup(standin: StandIn, bot: telegram.Bot) -> None:
    message = await bot.send_message(PAT, "Pain today?", reply_markup=keyboard(("Mild", "pain:1")))

    edited = await bot.edit_message_text("Thanks!", chat_id=PAT, message_id=message.message_id)

    assert isinstance(edited, telegram.Message)
    assert edited.text == "Thanks!"
    assert edited.edit_date is not None
    assert edited.reply_markup is None
    [sent] = standin.sent_to(PAT)
    assert (sent.text, sent.edited, sent.reply_markup) == ("Thanks!", True, None)
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Thanks!", chat_id=PAT, message_id=message.message_id)
    await bot.edit_message_reply_markup(
        PAT, message.message_id, reply_markup=keyboard(("Ok", "ok"))
    )
    assert sent.reply_markup == keyboard(("Ok", "ok")).to_dict()
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(
            PAT, message.message_id, reply_markup=keyboard(("Ok", "ok"))
        )


@pytest.mark.asyncio
async def test_user_edits_arrive_as_edited_message(standin: StandIn, bot: telegram.Bot) -> None:
    standin.send_text(PAT, "it hurts a lot")
    [first] = await bot.get_updates(timeout=0)
    assert first.message is not None

    standin.edit_text(PAT, first.message.message_id, "it hurts a little")
    [update] = await bot.get_updates(offset=first.update_id + 1, timeout=0)

    assert update.edited_message is not None
    assert update.edited_message.text == "it hurts a little"


@pytest.mark.asyncio
async def test_photo_upload_and_user_photo_download(standin: StandIn, bot: telegram.Bot) -> None:
    sent = await bot.send_photo(PAT, photo=TINY_JPEG, caption="Your aftercare sheet")

    assert sent.caption == "Your aftercare sheet"
    assert sent.photo[-1].file_size == len(TINY_JPEG)
    assert standin.messages[-1].kind == "photo"
    assert standin.messages[-1].text == "Your aftercare sheet"
    assert standin.calls("sendPhoto")[0]["photo"] == TINY_JPEG

    standin.send_photo(PAT, caption="healing ok?")
    [update] = await bot.get_updates(timeout=1)
    assert update.message is not None
    assert update.message.caption == "healing ok?"
    assert len(update.message.photo) == 2
    file = await update.message.photo[-1].get_file()
    data = await file.download_as_bytearray()

    assert bytes(data) == TINY_JPEG
    assert bytes(data[:2]) == b"\xff\xd8"
    assert standin.transcript[-1].text == "[photo] healing ok?"

    resent = await bot.send_photo(STAFF, photo=update.message.photo[-1].file_id)
    assert standin.messages[-1].file_id == update.message.photo[-1].file_id
    assert resent.chat.id == STAFF


@pytest.mark.asyncio
async def test_copy_and_forward_into_the_staff_group(standin: StandIn, bot: telegram.Bot) -> None:
    standin.send_text(PAT, "swelling on the left side")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None

    copied = await bot.copy_message(STAFF, PAT, update.message.message_id)
    forwarded = await bot.forward_message(STAFF, PAT, update.message.message_id)

    assert [m.method for m in standin.sent_to(STAFF)] == ["copyMessage", "forwardMessage"]
    assert [m.text for m in standin.sent_to(STAFF)] == ["swelling on the left side"] * 2
    assert copied.message_id == standin.sent_to(STAFF)[0].message_id
    assert isinstance(forwarded.forward_origin, telegram.MessageOriginUser)
    assert forwarded.forward_origin.sender_user.id == PAT
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)message to copy not found"):
        await bot.copy_message(STAFF, PAT, 999)


@pytest.mark.asyncio
async def test_users_send_voice_video_round_video_audio_and_files_that_copy_as_they_are(
    standin: StandIn, bot: telegram.Bot
) -> None:
    standin.send_voice(PAT, caption="listen")
    standin.send_media(PAT, "video", caption="my cheek")
    standin.send_media(PAT, "video_note")
    standin.send_media(PAT, "audio")
    standin.send_document(PAT, file_name="scan.pdf")
    updates = await bot.get_updates(timeout=1)
    messages = [u.message for u in updates if u.message is not None]
    assert len(messages) == 5
    voice, video, round_video, audio, document = messages
    assert voice.voice is not None and voice.caption == "listen"
    assert video.video is not None and video.caption == "my cheek"
    assert round_video.video_note is not None and round_video.video_note.length == 240
    assert audio.audio is not None and audio.audio.mime_type == "audio/mpeg"
    assert document.document is not None and document.document.file_name == "scan.pdf"
    data = await (await round_video.video_note.get_file()).download_as_bytearray()
    assert bytes(data[4:8]) == b"ftyp"
    assert [e.text for e in standin.transcript[-5:]] == [
        "[voice] listen",
        "[video] my cheek",
        "[video_note]",
        "[audio]",
        "[document]",
    ]

    for message in messages:
        await bot.copy_message(STAFF, PAT, message.message_id)
    copies = standin.sent_to(STAFF)
    assert [m.kind for m in copies] == ["voice", "video", "video_note", "audio", "document"]
    assert {m.method for m in copies} == {"copyMessage"}
    assert [m.text for m in copies[:2]] == ["listen", "my cheek"]


@pytest.mark.asyncio
async def test_commands_are_stored_per_scope_and_language(
    standin: StandIn, bot: telegram.Bot
) -> None:
    await bot.set_my_commands([("start", "Begin"), ("help", "Help")])
    await bot.set_my_commands([("start", "Beginnen")], language_code="de")

    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert standin.commands_for(language_code="de") == [
        {"command": "start", "description": "Beginnen"}
    ]
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "capital letters are refused")])


@pytest.mark.asyncio
async def test_injected_retry_after_raises_retry_after(standin: StandIn, bot: telegram.Bot) -> None:
    standin.fail_next("sendMessage", Fault.retry_after(3))

    with pytest.raises(telegram.error.RetryAfter) as caught:
        await bot.send_message(PAT, "hello")

    assert caught.value.retry_after == dt.timedelta(seconds=3)
    assert standin.messages == []
    assert standin.rate_limited == 0
    await bot.send_message(PAT, "hello")
    assert len(standin.messages) == 1


@pytest.mark.asyncio
async def test_fault_for_one_chat_spares_the_others(standin: StandIn, bot: telegram.Bot) -> None:
    standin.fail_next("sendMessage", Fault.forbidden(), chat_id=SAM, count=2)

    await bot.send_message(PAT, "fine")
    with pytest.raises(telegram.error.Forbidden):
        await bot.send_message(SAM, "refused")
    with pytest.raises(telegram.error.Forbidden):
        await bot.send_message(SAM, "refused again")
    await bot.send_message(SAM, "fine now")

    assert [m.text for m in standin.messages] == ["fine", "fine now"]


@pytest.mark.asyncio
async def test_blocked_user_gives_forbidden(standin: StandIn, bot: telegram.Bot) -> None:
    standin.block(PAT)

    with pytest.raises(telegram.error.Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(PAT, "hello")
    await bot.send_message(SAM, "hello")
    standin.unblock(PAT)
    await bot.send_message(PAT, "hello again")

    assert [m.chat_id for m in standin.messages] == [SAM, PAT]


@pytest.mark.asyncio
async def test_bad_requests(standin: StandIn, bot: telegram.Bot) -> None:
    standin.fail_next("sendMessage", Fault.bad_request("Bad Request: can't parse entities"))
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(PAT, "hello")
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(PAT, "x" * 4097)
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(PAT, "  ")
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "hello")
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(PAT, "hello", reply_markup=keyboard(("Long", "x" * 65)))
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(PAT, photo=TINY_JPEG, caption="x" * 1025)

    assert standin.messages == []


@pytest.mark.asyncio
async def test_server_error_is_a_network_error(standin: StandIn, bot: telegram.Bot) -> None:
    standin.fail_next("sendMessage", Fault.server_error(502))

    with pytest.raises(telegram.error.NetworkError, match="Bad Gateway") as caught:
        await bot.send_message(PAT, "hello")

    assert not isinstance(caught.value, telegram.error.TimedOut)
    assert standin.messages == []


@pytest.mark.asyncio
async def test_slow_answer_times_out_after_delivery(standin: StandIn) -> None:
    standin.fail_next("sendMessage", Fault.slow(5.0))

    async with client(standin, read_timeout=0.2) as impatient:
        with pytest.raises(telegram.error.TimedOut):
            await impatient.send_message(PAT, "did this arrive?")

    assert [m.text for m in standin.messages] == ["did this arrive?"]


@pytest.mark.asyncio
async def test_dropped_connection_is_a_network_error_and_not_delivered(
    standin: StandIn, bot: telegram.Bot
) -> None:
    standin.fail_next("sendMessage", Fault.drop_connection())

    with pytest.raises(telegram.error.NetworkError):
        await bot.send_message(PAT, "lost")

    assert standin.messages == []
    await bot.send_message(PAT, "next one works")
    assert len(standin.messages) == 1


@pytest.mark.asyncio
async def test_deliver_then_drop_delivers_but_the_client_hears_nothing(
    standin: StandIn, bot: telegram.Bot
) -> None:
    standin.fail_next("sendMessage", Fault.deliver_then_drop())

    with pytest.raises(telegram.error.NetworkError) as caught:
        await bot.send_message(PAT, "did this arrive?")

    assert not isinstance(caught.value, telegram.error.TimedOut)
    assert [m.text for m in standin.messages] == ["did this arrive?"]
    assert standin.exchanges[-1].status is None  # dropped, not answered


@pytest.mark.asyncio
async def test_offline_refuses_connections_until_online_on_the_same_port(
    standin: StandIn, bot: telegram.Bot
) -> None:
    await bot.send_message(PAT, "before")  # a keep-alive connection is open now
    url = standin.base_url

    await standin.go_offline()

    assert standin.is_offline and standin.base_url == url
    with pytest.raises(telegram.error.NetworkError) as caught:
        await bot.send_message(PAT, "while offline")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    await standin.go_online()
    await bot.send_message(PAT, "after")
    assert standin.base_url == url
    assert [m.text for m in standin.messages] == ["before", "after"]


@pytest.mark.asyncio
async def test_exchanges_record_arrival_answer_and_retry_after(
    standin: StandIn, bot: telegram.Bot
) -> None:
    standin.fail_next("sendMessage", Fault.retry_after(4))
    before = time.monotonic()

    with pytest.raises(telegram.error.RetryAfter):
        await bot.send_message(PAT, "hello")
    await bot.send_message(PAT, "hello")

    refused, accepted = standin.exchanges[-2:]
    assert (refused.method, refused.chat_id, refused.status) == ("sendMessage", PAT, 429)
    assert refused.retry_after == 4 and refused.answered is not None
    assert before <= refused.arrived <= refused.answered <= accepted.arrived
    assert refused.retry_until == refused.answered + 4
    assert (accepted.status, accepted.retry_after, accepted.retry_until) == (200, None, None)


@pytest.mark.asyncio
async def test_global_rate_limit_refuses_a_flood(standin: StandIn, bot: telegram.Bot) -> None:
    users = range(2000, 2040)
    for user_id in users:
        standin.add_user(user_id)

    results = await asyncio.gather(
        *(bot.send_message(user_id, "reminder") for user_id in users), return_exceptions=True
    )

    refused = [r for r in results if isinstance(r, telegram.error.RetryAfter)]
    delivered = [r for r in results if isinstance(r, telegram.Message)]
    assert len(refused) + len(delivered) == 40
    assert refused
    assert len(delivered) <= 30
    assert standin.rate_limited == len(refused)
    assert len(standin.messages) == len(delivered)


@pytest.mark.asyncio
async def test_private_chat_burst_is_limited_on_the_fourth(
    standin: StandIn, bot: telegram.Bot
) -> None:
    for n in range(3):
        await bot.send_message(PAT, f"message {n}")
    with pytest.raises(telegram.error.RetryAfter) as caught:
        await bot.send_message(PAT, "message 3")
    await bot.send_message(SAM, "another chat is unaffected")

    assert caught.value.retry_after == dt.timedelta(seconds=1)
    assert standin.rate_limited == 1
    assert len(standin.sent_to(PAT)) == 3


@pytest.mark.asyncio
async def test_group_rate_limit() -> None:
    async with StandIn(group_limit=(2, 60.0)) as strict:
        strict.add_group(STAFF)
        async with client(strict) as strict_bot:
            await strict_bot.send_message(STAFF, "one")
            await strict_bot.send_message(STAFF, "two")
            with pytest.raises(telegram.error.RetryAfter):
                await strict_bot.send_message(STAFF, "three")
    assert strict.rate_limited == 1


@pytest.mark.asyncio
async def test_wrong_token_and_unknown_method(standin: StandIn) -> None:
    async with httpx.AsyncClient(base_url=standin.base_url) as http:
        wrong = await http.post("/bot999:WRONG/getMe")
        unknown = await http.post(f"/bot{standin.token}/sendTelepathy")
        json_body = await http.post(
            f"/bot{standin.token}/sendMessage", json={"chat_id": PAT, "text": "123"}
        )

    assert (wrong.status_code, wrong.json()["description"]) == (401, "Unauthorized")
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")
    assert json_body.json()["result"]["text"] == "123"
    assert standin.messages[-1].text == "123"


@pytest.mark.asyncio
async def test_date_fields_follow_the_injected_clock() -> None:
    fixed = dt.datetime(2030, 5, 17, 9, 30, tzinfo=dt.UTC)
    async with StandIn(clock=lambda: fixed) as standin:
        standin.add_user(PAT)
        async with client(standin) as ptb_bot:
            message = await ptb_bot.send_message(PAT, "hello")

    assert message.date == fixed
    assert standin.messages[0].at == fixed
    assert standin.transcript[0].at == fixed


@pytest.mark.asyncio
async def test_control_http_side(standin: StandIn, bot: telegram.Bot) -> None:
    async with httpx.AsyncClient(base_url=f"{standin.base_url}/_control") as control:
        assert (
            await control.post("/users", json={"user_id": 3003, "first_name": "Kim"})
        ).is_success
        sent_update = await control.post("/messages", json={"user_id": 3003, "text": "/start"})
        message = await bot.send_message(3003, "Hi Kim", reply_markup=keyboard(("Go", "go")))
        pressed = await control.post(
            "/press", json={"user_id": 3003, "message_id": message.message_id, "data": "go"}
        )
        fault = await control.post("/faults", json={"method": "sendMessage", "kind": "forbidden"})
        blocked = await control.post("/block", json={"user_id": 3003})
        listing = await control.get("/sent", params={"chat_id": 3003})
        invalid = await control.post("/messages", json={"text": "no user"})

    assert sent_update.json()["result"]["update_id"] == 1
    assert pressed.json()["result"]["update_id"] == 2
    assert fault.is_success
    assert blocked.is_success
    assert [m["text"] for m in listing.json()["result"]] == ["Hi Kim"]
    assert invalid.status_code == 400
    assert 3003 in standin.blocked
    updates = await bot.get_updates(timeout=0)
    assert updates[1].callback_query is not None


@pytest.mark.asyncio
async def test_wait_for_reports_what_happened_on_timeout(standin: StandIn) -> None:
    standin.send_text(PAT, "anyone there?")

    with pytest.raises(TimeoutError, match="anyone there"):
        await standin.wait_for_messages(PAT, 1, timeout=0.05)


async def _unused_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    raise AssertionError("never called")


def test_importable_without_a_running_loop() -> None:
    standin = StandIn(token="42:ABC")
    standin.add_user(PAT)

    assert standin.bot_id == 42
    assert isinstance(standin.send_text(PAT, "/help"), int)
    with pytest.raises(RuntimeError, match="not running"):
        _ = standin.base_url
    assert isinstance(Update.de_json(standin.pending_updates(1)[0], None), Update)
