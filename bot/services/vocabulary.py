"""The words of check-ins and alerts: symptom, severity and red-flag names, self-care advice,
and reasons rendered in a reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.triage import Level, Severity
from bot.i18n import N_, I18n

SYMPTOM_LABELS = {
    "redness": N_("Redness"),
    "swelling": N_("Swelling"),
    "bruising": N_("Bruising"),
    "itching": N_("Itching"),
    # warmth is one of the signs of infection staff watch for (docs/clinical.md#triage-rules)
    "burning": N_("Warmth or burning"),
    "pain": N_("Pain or tenderness"),
    "bumps": N_("Small bumps"),
    "darkening": N_("Darker skin"),
    # late complications (docs/clinical.md#late-complications)
    "lump": N_("A lump or hard knot"),
    "sore": N_("A sore that leaks or won't heal"),
    "other": N_("Something else"),
}
SEVERITY_LABELS = {
    Severity.NONE: N_("None"),
    Severity.MILD: N_("Mild"),
    Severity.MODERATE: N_("Moderate"),
    Severity.SEVERE: N_("Severe"),
    Severity.VERY_SEVERE: N_("Very severe"),
}
# Short button labels, in the order of FLAGS; the question lists each in full. "allergy" is the
# flag that was split into "faint" and "hives": reports stored before still name it.
FLAG_LABELS = {
    "breathing": N_("Breathing or swallowing"),
    "faint": N_("Feeling faint or fainting"),
    "vision": N_("Change in vision"),
    "hives": N_("Hives or a spreading rash"),
    "fever": N_("Fever or chills"),
    "pus": N_("Pus or discharge"),
    "spreading": N_("Getting worse or spreading"),
    "skin_colour": N_("Pale, dark or blistered skin"),
    "allergy": N_("Hives or feeling faint"),
}
FLAG_DESCRIPTIONS = {
    "breathing": N_("trouble breathing or swallowing, or swelling of the lips, tongue or throat"),
    "faint": N_("feeling faint, or fainting"),
    "vision": N_("any change in your vision"),
    "hives": N_("hives or an itchy rash spreading beyond the treated area"),
    "fever": N_("fever or chills"),
    "pus": N_("pus or discharge from the treated area"),
    "spreading": N_("redness, warmth or pain that keeps increasing, or red streaks spreading"),
    "skin_colour": N_("skin that looks pale, grey or dark, blisters, or open sores"),
    "allergy": N_("hives (an itchy rash) over the body, or feeling faint"),
}
# Self-care for what is expected; the clinic's protocol owns the timing, this the words.
ADVICE = {
    "redness": N_(
        "Redness: a cool (not icy) compress and a gentle moisturiser help; keep out of the sun."
    ),
    "swelling": N_(
        "Swelling: a cold compress wrapped in a cloth, 10 minutes at a time, helps; "
        "avoid heat and hard exercise."
    ),
    "bruising": N_(
        "Bruising: a cold compress on the first day helps; avoid aspirin-type "
        "painkillers, which make bruising worse. It fades over a week or two."
    ),
    "itching": N_(
        "Itching: try not to scratch; a cool compress and a fragrance-free moisturiser soothe it."
    ),
    "burning": N_("Burning: a cool compress soothes it; keep to gentle skincare for now."),
    "pain": N_(
        "Tenderness: it usually eases within a day or two; ask the clinic before taking "
        "painkillers, as aspirin-type ones increase bruising."
    ),
    "bumps": N_("Small bumps: they usually settle within a day; don't squeeze or rub them."),
}

LEVEL_LABELS = {
    Level.EXPECTED: N_("expected"),
    Level.UNUSUAL: N_("unusual"),
    Level.URGENT: N_("URGENT"),
    Level.EMERGENCY: N_("EMERGENCY"),
}
LEVEL_ICONS = {Level.EXPECTED: "🟢", Level.UNUSUAL: "🟡", Level.URGENT: "🔴", Level.EMERGENCY: "🚨"}


def symptom_name(i18n: I18n, lang: str, name: str) -> str:
    return i18n.t(lang, SYMPTOM_LABELS.get(name, name)).lower()


def severity_name(i18n: I18n, lang: str, value: int | str) -> str:
    level = Severity.parse(value) if isinstance(value, str) else Severity(value)
    return i18n.t(lang, SEVERITY_LABELS[level]).lower()


def reason_text(i18n: I18n, lang: str, reason: Mapping[str, Any]) -> str:
    """A triage reason, stored as data, in the reader's language."""
    params = {str(k): str(v) for k, v in dict(reason.get("params") or {}).items()}
    if reason.get("symptom"):
        params["symptom"] = symptom_name(i18n, lang, str(reason["symptom"]))
    for key in ("severity", "previous"):
        if key in params:
            params[key] = severity_name(i18n, lang, params[key])
    template = i18n.t(lang, str(reason["message"]))
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template
