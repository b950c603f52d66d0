"""Button payloads: typed, signed, within 64 bytes; forged, altered or foreign payloads are
refused, and each handler's pattern routes exactly its own buttons."""

from __future__ import annotations

import re

import pytest

from bot.db.models import EscalationOutcome
from bot.services import buttons
from bot.services.buttons import Button, CallbackSigner


@pytest.fixture
def signer() -> CallbackSigner:
    return CallbackSigner(b"123456:TEST-TOKEN")


# one of every kind, with the largest ids and longest extras the bot sends
EVERY_BUTTON: list[Button] = [
    buttons.Consent(2**40),
    buttons.ChooseLanguage(2**40, "ar"),
    buttons.ChooseZone(2**31, "America/Argentina/ComodRivadavia"),
    buttons.AllGood(2**40),
    buttons.HasSymptoms(7),
    buttons.ToggleSymptom(7, "other"),
    buttons.SymptomsDone(7),
    buttons.Rate(7, 4),
    buttons.ToggleFlag(7, "skin_colour"),
    buttons.NoFlags(7),
    buttons.FlagsDone(7),
    buttons.SkipNote(7),
    buttons.NewCheckin(7),
    buttons.Acknowledge(2**40),
    buttons.Resolve(2**40),
    *(buttons.ResolveAs(2**40, outcome) for outcome in EscalationOutcome),
]


@pytest.mark.parametrize("button", EVERY_BUTTON, ids=lambda b: type(b).__name__)
def test_every_button_round_trips_within_telegrams_limit(
    signer: CallbackSigner, button: Button
) -> None:
    data = button.pack(signer)
    assert len(data.encode()) <= buttons.MAX_BYTES
    assert Button.unpack(data, signer) == button
    assert type(button).unpack(data, signer) == button
    assert re.match(type(button).pattern(), data)


@pytest.mark.parametrize("button", EVERY_BUTTON, ids=lambda b: type(b).__name__)
def test_a_pattern_routes_only_its_own_kind(signer: CallbackSigner, button: Button) -> None:
    data = button.pack(signer)
    others = [b for b in EVERY_BUTTON if type(b) is not type(button)]
    assert not [type(b).__name__ for b in others if re.match(type(b).pattern(), data)]
    # asking for another kind gives nothing, even for a genuine payload
    assert all(type(b).unpack(data, signer) is None for b in others)


def test_the_check_in_and_staff_handlers_share_no_button(signer: CallbackSigner) -> None:
    checkin = buttons.any_of(*buttons.CHECKIN_BUTTONS)
    staff = buttons.any_of(*buttons.STAFF_BUTTONS)
    for button in EVERY_BUTTON:
        data = button.pack(signer)
        routed = [bool(re.match(checkin, data)), bool(re.match(staff, data))]
        expected = [type(button) in buttons.CHECKIN_BUTTONS, type(button) in buttons.STAFF_BUTTONS]
        assert routed == expected, type(button).__name__


def _forgeries(genuine: str) -> list[str | None]:
    body, mac = genuine.rsplit(":", 1)
    action, ref = body.split(":")
    return [
        f"{body}:{'A' * len(mac)}",  # a made-up MAC
        body,  # no MAC
        genuine[:-1],  # truncated
        f"{action}:{int(ref) + 1}:{mac}",  # another id under the same MAC
        f"{action}x:{ref}:{mac}",  # another action under the same MAC
        f"{action}:{ref}:{mac}:{mac}",  # one part too many
        f"{action}:-{ref}:{mac}",
        "x" * 65,
        "",
        None,
    ]


@pytest.mark.parametrize("index", range(10))
def test_forged_or_altered_payloads_are_refused(signer: CallbackSigner, index: int) -> None:
    forged = _forgeries(buttons.Consent(1).pack(signer))[index]
    assert Button.unpack(forged, signer) is None


def test_another_secret_is_refused(signer: CallbackSigner) -> None:
    data = buttons.Acknowledge(1).pack(signer)
    assert Button.unpack(data, CallbackSigner(b"other")) is None


def test_an_extra_the_class_cannot_take_is_refused_even_when_signed(
    signer: CallbackSigner,
) -> None:
    # a payload signed by us but naming an outcome that does not exist: the MAC is right
    genuine = buttons.ResolveAs(3, EscalationOutcome.CALLED).pack(signer)
    action, ref, _mac = genuine.split(":")
    body = f"{action[:-1]}z:{ref}"
    assert Button.unpack(f"{body}:{signer.mac(body)}", signer) is None


@pytest.mark.parametrize(
    "button",
    [
        buttons.ChooseZone(1, "Europe/Paris:evil"),  # a separator inside an extra
        buttons.ChooseLanguage(1, "en.x"),
        buttons.ChooseZone(1, "A" * 60),  # over 64 bytes once packed
        buttons.Consent(-1),
    ],
)
def test_a_payload_that_could_not_be_read_back_is_never_made(
    signer: CallbackSigner, button: Button
) -> None:
    with pytest.raises(ValueError, match=r"payload|64 bytes|id"):
        button.pack(signer)


def test_the_wire_format_is_the_one_buttons_in_chats_already_carry(
    signer: CallbackSigner,
) -> None:
    # buttons sent before this version must keep working after an upgrade: the payload is
    # `action[.extra]:id:mac`, with the MAC over everything before it (the numbered symptom
    # and flag toggles are the exception, below)
    for button, body in [
        (buttons.Consent(12), "consent:12"),
        (buttons.ChooseZone(3, "Europe/Paris"), "tz.Europe/Paris:3"),
        (buttons.SymptomsDone(5), "cs.d:5"),
        (buttons.ResolveAs(9, EscalationOutcome.CAME_IN), "eo.i:9"),
    ]:
        assert button.pack(signer) == f"{body}:{signer.mac(body)}"


def test_numbered_symptom_and_flag_buttons_of_earlier_versions_no_longer_work(
    signer: CallbackSigner,
) -> None:
    # genuinely signed, but the numbers pointed into lists that have since grown
    for body in ("cs.2:5", "cf.0:5"):
        assert Button.unpack(f"{body}:{signer.mac(body)}", signer) is None


def test_two_kinds_cannot_share_a_prefix() -> None:
    with pytest.raises(TypeError, match="taken"):

        class Again(Button, prefix="ea"):
            pass
