"""Callback data: signed, within 64 bytes, and forged or altered payloads are refused."""

from __future__ import annotations

import pytest

from bot.services.callbacks import CallbackSigner, Payload


@pytest.fixture
def signer() -> CallbackSigner:
    return CallbackSigner(b"123456:TEST-TOKEN")


def test_a_signed_payload_round_trips_within_telegrams_limit(signer: CallbackSigner) -> None:
    data = signer.sign("consent", 2**40)
    assert len(data.encode()) <= 64
    assert signer.verify(data) == Payload("consent", 2**40)


@pytest.mark.parametrize(
    "forged",
    [
        "consent:1:AAAAAAAAAAAAAA",
        "consent:1",
        "",
        None,
        "x" * 65,
        "consent:abc:AAAA",
    ],
)
def test_forged_payloads_are_refused(signer: CallbackSigner, forged: str | None) -> None:
    assert signer.verify(forged) is None


def test_an_altered_id_or_another_secret_is_refused(signer: CallbackSigner) -> None:
    data = signer.sign("consent", 1)
    action, _ref, mac = data.split(":")
    assert signer.verify(f"{action}:2:{mac}") is None
    assert CallbackSigner(b"other").verify(data) is None
