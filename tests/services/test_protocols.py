"""Loading protocols: the shipped files, a clinic's directory overriding them, bad files named."""

from pathlib import Path

import pytest

from bot.domain.protocol import ProtocolError, StepKind
from bot.domain.triage import DEFAULT_SYMPTOM_RULES
from bot.services.protocols import SHIPPED_DIR, load_protocol_file, load_protocols

CLINIC_FACE = """\
treatment = "face"
title = "Our own face protocol"
restriction_days = 2

[[step]]
key = "right-after"
kind = "tip"
offset = "30m"
useful_for = "12h"
text = "Thank you for visiting us today."
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_protocols_load_by_treatment() -> None:
    protocols = load_protocols()

    assert set(protocols) == {"face", "eye-area", "scalp", "body"}
    for treatment, protocol in protocols.items():
        assert protocol.treatment == treatment
        assert Path(protocol.source).parent == SHIPPED_DIR


CLINIC_CHECKIN = """
[[step]]
key = "checkin-day2"
kind = "checkin"
offset = "2d"
window = "18:00-20:30"
useful_for = "1d"
respond_within = "12h"
text = "How is your skin doing since your treatment?"
"""


def test_every_shipped_protocol_has_check_ins_and_triage_rules() -> None:
    for treatment, protocol in load_protocols().items():
        assert protocol.triage is not None, treatment
        assert any(step.kind is StepKind.CHECKIN for step in protocol.steps), treatment


def test_a_clinic_file_without_check_ins_needs_no_triage_rules(tmp_path: Path) -> None:
    _write(tmp_path, "face.toml", CLINIC_FACE)

    assert load_protocols(tmp_path)["face"].triage is None


def test_a_clinic_check_in_without_triage_rules_is_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    bad = _write(tmp_path, "face.toml", CLINIC_FACE + CLINIC_CHECKIN)

    with pytest.raises(ProtocolError) as caught:
        load_protocols(tmp_path)

    assert (caught.value.source, caught.value.field) == (str(bad), "triage")
    assert str(caught.value).startswith(f"{bad}: field 'triage': missing")


def test_a_clinic_file_can_borrow_the_shipped_triage_table(tmp_path: Path) -> None:
    shipped = (SHIPPED_DIR / "face.toml").read_text(encoding="utf-8")
    triage_table = shipped[shipped.index("[triage]") :]
    _write(tmp_path, "face.toml", CLINIC_FACE + CLINIC_CHECKIN + "\n" + triage_table)

    protocols = load_protocols(tmp_path)

    assert protocols["face"].step("checkin-day2").respond_within is not None
    assert protocols["face"].triage == load_protocols()["face"].triage


def test_a_clinic_directory_overrides_one_treatment_and_keeps_the_others(tmp_path: Path) -> None:
    _write(tmp_path, "face.toml", CLINIC_FACE)
    shipped = load_protocols()

    protocols = load_protocols(tmp_path)

    assert protocols["face"].title == "Our own face protocol"
    assert protocols["face"].source == str(tmp_path / "face.toml")
    assert protocols["body"] == shipped["body"]
    assert set(protocols) == set(shipped)


def test_a_clinic_directory_can_add_a_treatment(tmp_path: Path) -> None:
    _write(tmp_path, "neck.toml", CLINIC_FACE.replace('"face"', '"neck"'))

    protocols = load_protocols(tmp_path)

    assert protocols["neck"].title == "Our own face protocol"
    assert "face" in protocols


def test_the_override_goes_by_treatment_not_by_file_name(tmp_path: Path) -> None:
    _write(tmp_path, "our-face-plan.toml", CLINIC_FACE)

    assert load_protocols(tmp_path)["face"].title == "Our own face protocol"


def test_hidden_editor_files_are_ignored(tmp_path: Path) -> None:
    _write(tmp_path, ".#face.toml", "not a protocol")

    assert load_protocols(tmp_path) == load_protocols()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(CLINIC_FACE.replace('"30m"', '"3x"'), "field 'offset'", id="bad-offset"),
        pytest.param(CLINIC_FACE.replace("title =", "title"), "line 2", id="toml-syntax"),
        pytest.param(CLINIC_FACE + "colour = 'red'\n", "field 'colour'", id="unknown-field"),
    ],
)
def test_a_bad_clinic_file_is_refused_naming_it(tmp_path: Path, content: str, words: str) -> None:
    bad = _write(tmp_path, "face.toml", content)

    with pytest.raises(ProtocolError) as caught:
        load_protocols(tmp_path)

    assert caught.value.source == str(bad)
    assert str(caught.value).startswith(f"{bad}: ")
    assert words in str(caught.value)


def test_a_treatment_defined_twice_in_the_clinic_directory_is_refused(tmp_path: Path) -> None:
    first = _write(tmp_path, "a-face.toml", CLINIC_FACE)
    second = _write(tmp_path, "b-face.toml", CLINIC_FACE)

    with pytest.raises(ProtocolError) as caught:
        load_protocols(tmp_path)

    assert caught.value.field == "treatment"
    assert str(second) in str(caught.value)
    assert str(first) in str(caught.value)


def test_a_missing_clinic_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(ProtocolError, match="is not a directory"):
        load_protocols(missing)


def test_a_missing_file_is_a_protocol_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "face.toml"

    with pytest.raises(ProtocolError) as caught:
        load_protocol_file(missing)

    assert caught.value.source == str(missing)
    assert "cannot be read" in str(caught.value)


def test_a_file_that_is_not_utf8_is_a_protocol_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "face.toml"
    path.write_bytes(CLINIC_FACE.replace("Thank you", "Merci \xe0 vous").encode("latin-1"))

    with pytest.raises(ProtocolError, match=r"face\.toml: is not UTF-8"):
        load_protocol_file(path)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "face.toml"
    path.write_bytes(CLINIC_FACE.encode("utf-8-sig"))

    assert load_protocol_file(path).title == "Our own face protocol"


def test_every_shipped_protocol_watches_for_late_complications() -> None:
    # docs/clinical.md#late-complications: days 14, 21 and 42, and 84 after body work
    for treatment, protocol in load_protocols().items():
        late = {
            step.offset.days
            for step in protocol.steps
            if step.kind is StepKind.CHECKIN and step.offset.days >= 14
        }
        assert late == ({14, 21, 42, 84} if treatment == "body" else {14, 21, 42}), treatment
        assert protocol.closer_watch is not None, treatment
        assert protocol.course_interval.days == (28 if treatment == "body" else 21), treatment


def test_a_clinic_file_written_before_the_allergy_split_is_refused_naming_the_new_flags(
    tmp_path: Path,
) -> None:
    shipped = (SHIPPED_DIR / "face.toml").read_text(encoding="utf-8")
    triage_table = shipped[shipped.index("[triage]") :]
    older = triage_table.replace('faint = "emergency"', 'allergy = "emergency"')
    bad = _write(tmp_path, "face.toml", CLINIC_FACE + CLINIC_CHECKIN + "\n" + older)

    with pytest.raises(ProtocolError) as caught:
        load_protocols(tmp_path)

    assert (caught.value.source, caught.value.field) == (str(bad), "triage.flags.allergy")
    assert "give 'faint' and 'hives' their own levels" in str(caught.value)


def test_a_clinic_file_without_the_new_fields_keeps_working(tmp_path: Path) -> None:
    # a file written before course_interval, closer_watch and the symptom rules existed
    shipped = (SHIPPED_DIR / "face.toml").read_text(encoding="utf-8")
    flags = shipped[shipped.index("[triage.flags]") :]
    triage_table = '[triage]\n[triage.usual_course]\nredness = "3d"\n' + flags
    _write(tmp_path, "face.toml", CLINIC_FACE + CLINIC_CHECKIN + "\n" + triage_table)

    protocol = load_protocols(tmp_path)["face"]

    assert protocol.course_interval.days == 21
    assert protocol.closer_watch is None
    assert protocol.triage is not None
    assert protocol.triage.symptom_rules == DEFAULT_SYMPTOM_RULES
