"""Triage: every rule of docs/clinical.md#triage-rules, judged with the shipped protocols' rules."""

import ast
import datetime as dt
import string
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

import pytest

import bot
from bot.domain import triage
from bot.domain.protocol import parse_protocol
from bot.domain.triage import (
    FLAGS,
    SYMPTOMS,
    Assessment,
    Level,
    Reason,
    Report,
    Severity,
    TriageRules,
    assess,
)

PROTOCOLS = Path(bot.__file__).parent / "protocols"


def _rules(treatment: str) -> TriageRules:
    path = PROTOCOLS / f"{treatment}.toml"
    rules = parse_protocol(path.read_text(encoding="utf-8"), path.name).triage
    assert rules is not None
    return rules


RULES = {treatment: _rules(treatment) for treatment in ("face", "body", "eye-area", "scalp")}

EMERGENCY, URGENT, UNUSUAL, EXPECTED = Level.EMERGENCY, Level.URGENT, Level.UNUSUAL, Level.EXPECTED


def _report(symptoms: dict[str, str] | None = None, flags: tuple[str, ...] = ()) -> Report:
    return Report(
        {name: Severity.parse(severity) for name, severity in (symptoms or {}).items()},
        frozenset(flags),
    )


@dataclass(frozen=True)
class Case:
    """One row of the table: a report, what came before it, and the judgement it must get."""

    name: str
    hours: float
    symptoms: dict[str, str] | None
    level: Level
    reasons: list[str]  # "code:symptom-or-flag", highest level first
    _: KW_ONLY
    flags: tuple[str, ...] = ()
    previous: dict[str, str] | None = None
    rules: str = "face"


def _judge(case: Case) -> Assessment:
    previous = None if case.previous is None else _report(case.previous)
    return assess(_report(case.symptoms, case.flags), previous, case.hours, RULES[case.rules])


# 3 days, 5 days (body swelling), 14 days, 21 days (bruising around the eyes), 2 days (bumps)
H3D, H5D, H14D, H21D, H2D = 72, 120, 336, 504, 48
JUST = 0.01

CASES = [
    # --- red flags, each at its configured level, whatever the day -----------------------------
    Case("breathing", 2, None, EMERGENCY, ["flag:breathing"], flags=("breathing",)),
    Case("allergy", 20, None, EMERGENCY, ["flag:allergy"], flags=("allergy",)),
    Case("vision", 5, None, EMERGENCY, ["flag:vision"], flags=("vision",), rules="eye-area"),
    Case("fever", 40, None, URGENT, ["flag:fever"], flags=("fever",)),
    Case("pus", 100, None, URGENT, ["flag:pus"], flags=("pus",)),
    Case("spreading", 60, None, URGENT, ["flag:spreading"], flags=("spreading",)),
    Case("skin colour", 3, None, URGENT, ["flag:skin_colour"], flags=("skin_colour",)),
    Case(
        "flag on the body", 30, None, EMERGENCY, ["flag:allergy"], flags=("allergy",), rules="body"
    ),
    # --- the usual course: within it expected, at its boundary expected, past it unusual -------
    Case("redness day 1", 20, {"redness": "mild"}, EXPECTED, []),
    Case("redness at 72h", H3D, {"redness": "moderate"}, EXPECTED, []),
    Case(
        "redness just past 72h", H3D + JUST, {"redness": "mild"}, UNUSUAL, ["past_course:redness"]
    ),
    Case("redness day 4", 80, {"redness": "mild"}, UNUSUAL, ["past_course:redness"]),
    Case("redness at none on day 9", 200, {"redness": "none"}, EXPECTED, []),
    Case("swelling at 72h", H3D, {"swelling": "moderate"}, EXPECTED, []),
    Case(
        "swelling just past 72h",
        H3D + JUST,
        {"swelling": "mild"},
        UNUSUAL,
        ["past_course:swelling"],
    ),
    Case("body swelling day 4", 100, {"swelling": "mild"}, EXPECTED, [], rules="body"),
    Case("body swelling at 120h", H5D, {"swelling": "moderate"}, EXPECTED, [], rules="body"),
    Case(
        "body swelling just past 120h",
        H5D + JUST,
        {"swelling": "mild"},
        UNUSUAL,
        ["past_course:swelling"],
        rules="body",
    ),
    Case(
        "body redness keeps 72h",
        H3D + JUST,
        {"redness": "mild"},
        UNUSUAL,
        ["past_course:redness"],
        rules="body",
    ),
    Case(
        "eye swelling keeps 72h",
        H3D + JUST,
        {"swelling": "mild"},
        UNUSUAL,
        ["past_course:swelling"],
        rules="eye-area",
    ),
    Case("bruising week 1", 150, {"bruising": "moderate"}, EXPECTED, []),
    Case("bruising at 14 days", H14D, {"bruising": "mild"}, EXPECTED, []),
    Case(
        "bruising just past 14 days",
        H14D + JUST,
        {"bruising": "mild"},
        UNUSUAL,
        ["past_course:bruising"],
    ),
    Case("eye bruising day 17", 400, {"bruising": "mild"}, EXPECTED, [], rules="eye-area"),
    Case("eye bruising at 21 days", H21D, {"bruising": "moderate"}, EXPECTED, [], rules="eye-area"),
    Case(
        "eye bruising just past 21 days",
        H21D + JUST,
        {"bruising": "mild"},
        UNUSUAL,
        ["past_course:bruising"],
        rules="eye-area",
    ),
    Case("bumps day 1", 20, {"bumps": "mild"}, EXPECTED, []),
    Case("bumps at 48h", H2D, {"bumps": "mild"}, EXPECTED, []),
    Case("bumps just past 48h", H2D + JUST, {"bumps": "mild"}, UNUSUAL, ["past_course:bumps"]),
    Case("itching at 72h", H3D, {"itching": "moderate"}, EXPECTED, []),
    Case(
        "itching just past 72h", H3D + JUST, {"itching": "mild"}, UNUSUAL, ["past_course:itching"]
    ),
    Case("burning on day 0", 3, {"burning": "moderate"}, EXPECTED, []),
    Case(
        "burning just past 72h", H3D + JUST, {"burning": "mild"}, UNUSUAL, ["past_course:burning"]
    ),
    Case("pain at 72h", H3D, {"pain": "mild"}, EXPECTED, []),
    Case("pain just past 72h", H3D + JUST, {"pain": "moderate"}, UNUSUAL, ["past_course:pain"]),
    Case(
        "scalp redness day 4",
        80,
        {"redness": "mild"},
        UNUSUAL,
        ["past_course:redness"],
        rules="scalp",
    ),
    Case("right after the session", 0, {"redness": "moderate", "bumps": "moderate"}, EXPECTED, []),
    # --- severity: severe and very severe are unusual, severe pain is urgent --------------------
    Case(
        "moderate is not severe", 20, {"swelling": "moderate", "itching": "moderate"}, EXPECTED, []
    ),
    Case("severe redness", 20, {"redness": "severe"}, UNUSUAL, ["severe:redness"]),
    Case("very severe swelling", 20, {"swelling": "very_severe"}, UNUSUAL, ["severe:swelling"]),
    Case(
        "severe bruising by the eyes",
        30,
        {"bruising": "severe"},
        UNUSUAL,
        ["severe:bruising"],
        rules="eye-area",
    ),
    Case("severe itching", 10, {"itching": "severe"}, UNUSUAL, ["severe:itching"]),
    Case("moderate pain", 20, {"pain": "moderate"}, EXPECTED, []),
    Case("severe pain", 20, {"pain": "severe"}, URGENT, ["urgent_severe:pain"]),
    Case(
        "very severe pain",
        20,
        {"pain": "very_severe"},
        URGENT,
        ["urgent_severe:pain"],
        rules="body",
    ),
    # --- worse than at the previous check-in: one level is expected, two are unusual ------------
    Case("first check-in", 20, {"swelling": "moderate"}, EXPECTED, [], previous=None),
    Case(
        "one level worse", 40, {"swelling": "moderate"}, EXPECTED, [], previous={"swelling": "mild"}
    ),
    Case(
        "two levels worse",
        40,
        {"swelling": "moderate"},
        UNUSUAL,
        ["worse:swelling"],
        previous={"swelling": "none"},
    ),
    Case(
        "two levels worse than an absent symptom",
        40,
        {"itching": "moderate"},
        UNUSUAL,
        ["worse:itching"],
        previous={"redness": "mild"},
    ),
    Case(
        "worse than an empty report",
        40,
        {"burning": "moderate"},
        UNUSUAL,
        ["worse:burning"],
        previous={},
    ),
    Case(
        "two levels worse and severe",
        40,
        {"redness": "very_severe"},
        UNUSUAL,
        ["severe:redness", "worse:redness"],
        previous={"redness": "moderate"},
    ),
    Case(
        "pain two levels worse",
        40,
        {"pain": "severe"},
        URGENT,
        ["urgent_severe:pain", "worse:pain"],
        previous={"pain": "mild"},
    ),
    Case("better", 40, {"redness": "mild"}, EXPECTED, [], previous={"redness": "severe"}),
    Case("gone", 40, None, EXPECTED, [], previous={"redness": "very_severe"}),
    # --- darkening at any severity, other from moderate -----------------------------------------
    Case("darkening mild", 20, {"darkening": "mild"}, UNUSUAL, ["darkening:darkening"]),
    Case("darkening late", 600, {"darkening": "moderate"}, UNUSUAL, ["darkening:darkening"]),
    Case("darkening none", 20, {"darkening": "none"}, EXPECTED, []),
    Case("other mild", 20, {"other": "mild"}, EXPECTED, []),
    Case("other mild has no course", 1000, {"other": "mild"}, EXPECTED, []),
    Case("other moderate", 20, {"other": "moderate"}, UNUSUAL, ["other:other"]),
    Case("other severe", 20, {"other": "severe"}, UNUSUAL, ["severe:other", "other:other"]),
    # --- together: the highest level wins, and every reason is listed ---------------------------
    Case(
        "fever with severe redness",
        50,
        {"redness": "severe"},
        URGENT,
        ["flag:fever", "severe:redness"],
        flags=("fever",),
    ),
    Case(
        "breathing, severe pain, lasting redness",
        80,
        {"redness": "mild", "pain": "severe"},
        EMERGENCY,
        ["flag:breathing", "urgent_severe:pain", "past_course:redness", "past_course:pain"],
        flags=("breathing",),
    ),
    Case(
        "two flags at two levels",
        30,
        None,
        EMERGENCY,
        ["flag:vision", "flag:fever"],
        flags=("fever", "vision"),
    ),
    Case(
        "every flag",
        30,
        None,
        EMERGENCY,
        [f"flag:{flag}" for flag in ("breathing", "allergy", "vision")]
        + [f"flag:{flag}" for flag in ("fever", "pus", "spreading", "skin_colour")],
        flags=FLAGS,
    ),
    Case(
        "lasting redness and swelling, bruising still expected",
        80,
        {"redness": "mild", "swelling": "mild", "bruising": "moderate"},
        UNUSUAL,
        ["past_course:redness", "past_course:swelling"],
    ),
    Case(
        "darkening with expected redness",
        20,
        {"redness": "moderate", "darkening": "mild"},
        UNUSUAL,
        ["darkening:darkening"],
    ),
    # --- nothing to report ----------------------------------------------------------------------
    Case("all good", 20, None, EXPECTED, []),
    Case("all good weeks later", 1000, None, EXPECTED, [], previous={"pain": "mild"}),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_report_gets_the_level_and_reasons_of_clinical_md(case: Case) -> None:
    assessment = _judge(case)

    assert assessment.level is case.level
    assert [f"{r.code}:{r.symptom or r.flag}" for r in assessment.reasons] == case.reasons
    levels = [reason.level for reason in assessment.reasons]
    assert levels == sorted(levels, reverse=True)
    assert assessment.level == max(levels, default=Level.EXPECTED)


def test_the_table_covers_every_symptom_flag_level_and_rule() -> None:
    assert len(CASES) >= 45
    reasons = [reason for case in CASES for reason in case.reasons]
    assert {case.level for case in CASES} == set(Level)
    assert {f"flag:{flag}" for flag in FLAGS} <= set(reasons)
    for symptom in ("redness", "swelling", "bruising", "bumps", "itching", "burning", "pain"):
        assert f"past_course:{symptom}" in reasons
    for code in ("severe", "urgent_severe", "worse", "darkening", "other"):
        assert any(reason.startswith(f"{code}:") for reason in reasons), code


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_reason_reads_as_plain_english_naming_the_symptom(case: Case) -> None:
    for reason in _judge(case).reasons:
        text = reason.text()

        assert "{" not in text and "_" not in text, text
        if reason.symptom is not None:
            assert reason.symptom in text
            assert reason.flag is None
        else:
            assert reason.code == "flag" and reason.flag in FLAGS


def test_a_very_severe_symptom_reads_with_a_space() -> None:
    (reason,) = assess(_report({"swelling": "very_severe"}), None, 20, RULES["face"]).reasons

    assert reason.params == {"severity": "very_severe"}
    assert reason.text() == "swelling is very severe"


def test_a_worse_symptom_names_both_severities() -> None:
    (reason,) = assess(_report({"itching": "moderate"}), _report({}), 30, RULES["face"]).reasons

    assert reason.params == {"previous": "none", "severity": "moderate"}
    assert reason.text() == "itching is worse than at the last check-in (none → moderate)"


def test_hours_past_the_course_are_rounded_down() -> None:
    (reason,) = assess(_report({"redness": "mild"}), None, 80.99, RULES["face"]).reasons

    assert reason.params == {"hours": "80", "course_hours": "72"}
    assert reason.text() == (
        "redness is still present 80 hours after the session (usually gone within 72 hours)"
    )


def test_a_flag_reason_says_what_was_reported() -> None:
    (reason,) = assess(_report(flags=("breathing",)), None, 1, RULES["face"]).reasons

    assert reason.params == {}
    assert "breathing" in reason.text() and "throat" in reason.text()


def _marked_templates() -> list[str]:
    """Every N_("...") in triage.py, read from the source the way pybabel reads it."""
    tree = ast.parse(Path(triage.__file__).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_":
            (argument,) = node.args
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str)
            found.append(argument.value)
    return found


def test_templates_use_only_the_placeholders_the_translations_know() -> None:
    allowed = {"symptom", "severity", "previous", "hours", "course_hours"}
    templates = _marked_templates()

    assert len(templates) >= len(FLAGS) + 5
    for template in templates:
        fields = {field for _, field, _, _ in string.Formatter().parse(template) if field}
        assert fields <= allowed, template


def test_every_message_given_is_a_marked_template() -> None:
    templates = set(_marked_templates())
    every_rule = Report(
        {
            "pain": Severity.SEVERE,
            "redness": Severity.MILD,
            "darkening": Severity.MILD,
            "other": Severity.MODERATE,
        },
        FLAGS,
    )

    reasons = assess(every_rule, Report({}), 500, RULES["face"]).reasons

    assert {reason.code for reason in reasons} == {
        "flag",
        "urgent_severe",
        "worse",
        "past_course",
        "darkening",
        "other",
    }
    assert {reason.message for reason in reasons} <= templates
    assert len({reason.message for reason in reasons if reason.flag}) == len(FLAGS)


def test_the_rules_are_data_a_clinic_can_change() -> None:
    strict = TriageRules(
        usual_course={"redness": dt.timedelta(hours=24)},
        flag_levels=dict.fromkeys(FLAGS, Level.URGENT),
        worsening_levels=1,
        severe=Severity.MODERATE,
        urgent_when_severe=frozenset({"swelling"}),
    )
    report = _report({"redness": "mild", "swelling": "moderate", "pain": "severe"}, ("vision",))

    assessment = assess(report, _report({"redness": "none"}), 30, strict)

    assert assessment.level is URGENT
    assert [f"{r.code}:{r.symptom or r.flag}" for r in assessment.reasons] == [
        "flag:vision",
        "urgent_severe:swelling",
        "worse:redness",
        "past_course:redness",
        "worse:swelling",
        "severe:pain",
        "worse:pain",
    ]


def test_every_shipped_protocol_has_the_same_flags_and_thresholds() -> None:
    for rules in RULES.values():
        assert rules.flag_levels == RULES["face"].flag_levels
        assert (rules.worsening_levels, rules.severe) == (2, Severity.SEVERE)
        assert rules.urgent_when_severe == {"pain"}
        assert set(rules.usual_course) == set(SYMPTOMS) - {"darkening", "other"}
    assert RULES["scalp"] == RULES["face"]


@pytest.mark.parametrize("severity", list(Severity))
def test_a_severity_parses_from_its_name(severity: Severity) -> None:
    assert Severity.parse(severity.name_key) is severity


@pytest.mark.parametrize("level", list(Level))
def test_a_level_parses_from_its_name(level: Level) -> None:
    assert Level.parse(level.name_key) is level


def test_names_are_lowercase_with_underscores() -> None:
    assert [s.name_key for s in Severity] == ["none", "mild", "moderate", "severe", "very_severe"]
    assert [lv.name_key for lv in Level] == ["expected", "unusual", "urgent", "emergency"]


@pytest.mark.parametrize("text", ["Severe", "very severe", "", "3", "worst"])
def test_an_unknown_severity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a severity; known: none, mild"):
        Severity.parse(text)


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="not a level; known: expected"):
        Level.parse("critical")


def test_a_report_with_an_unknown_symptom_or_flag_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown symptom 'rash'"):
        Report({"rash": Severity.MILD})
    with pytest.raises(ValueError, match="unknown flag 'nausea'"):
        Report({}, frozenset({"nausea"}))


def test_a_report_needs_severities_not_numbers() -> None:
    with pytest.raises(ValueError, match="needs a Severity"):
        Report({"redness": 2})  # type: ignore[dict-item]


def test_a_report_does_not_change_when_its_dict_does() -> None:
    symptoms = {"redness": Severity.MILD}
    report = Report(symptoms)
    symptoms["redness"] = Severity.VERY_SEVERE

    assert report.severity("redness") is Severity.MILD
    assert report.severity("pain") is Severity.NONE


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"flag_levels": {}}, "no level for: breathing"),
        ({"flag_levels": dict.fromkeys(FLAGS, Level.EXPECTED)}, "at least unusual"),
        ({"usual_course": {"rash": dt.timedelta(days=1)}}, "unknown symptom 'rash'"),
        ({"usual_course": {"redness": dt.timedelta(0)}}, "positive number of hours"),
        ({"usual_course": {"redness": dt.timedelta(minutes=90)}}, "number of hours"),
        ({"urgent_when_severe": frozenset({"fever"})}, "unknown symptom 'fever'"),
        ({"worsening_levels": 0}, "1 to 4"),
        ({"severe": Severity.NONE}, "mild or above"),
    ],
)
def test_rules_built_in_code_are_checked_too(changes: dict[str, object], words: str) -> None:
    fields: dict[str, object] = {
        "usual_course": {},
        "flag_levels": dict.fromkeys(FLAGS, Level.URGENT),
        **changes,
    }
    with pytest.raises(ValueError, match=words):
        TriageRules(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("hours", [-0.5, float("nan"), float("inf")])
def test_hours_before_the_session_are_refused(hours: float) -> None:
    with pytest.raises(ValueError, match="hours_since"):
        assess(_report(), None, hours, RULES["face"])


def test_a_reason_without_params_is_its_message() -> None:
    reason = Reason("flag", Level.URGENT, "fever or chills", flag="fever")

    assert reason.text() == "fever or chills"
