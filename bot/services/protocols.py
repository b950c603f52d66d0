"""Protocol files: loading the shipped ones and a clinic's own, and each step's words in a
reader's language."""

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from bot.domain.protocol import Protocol, ProtocolError, Step, parse_protocol
from bot.errors import BadInput
from bot.i18n import I18n

# Next to the code, so it is found in a checkout and in an installed (unzipped) package alike;
# pyproject.toml ships bot/protocols/*.toml as package data.
SHIPPED_DIR: Final = Path(__file__).resolve().parent.parent / "protocols"


def load_protocol_file(path: Path) -> Protocol:
    """Reads and validates one file; every problem, reading included, is a ProtocolError."""
    source = str(path)
    try:
        # utf-8-sig: editors on Windows often start a UTF-8 file with a byte-order mark
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProtocolError(source, f"is not UTF-8 text (bad byte at offset {exc.start})") from exc
    except OSError as exc:
        raise ProtocolError(source, f"cannot be read: {exc.strerror or exc}") from exc
    return parse_protocol(text, source)


def load_protocols(extra_dir: Path | None = None) -> dict[str, Protocol]:
    """The shipped protocols by treatment, then a clinic's directory overriding by treatment."""
    protocols = _load_dir(SHIPPED_DIR)
    if not protocols:
        raise ProtocolError(
            str(SHIPPED_DIR), "holds no protocol files: was the package installed with its data?"
        )
    if extra_dir is not None:
        protocols.update(_load_dir(extra_dir))
    return protocols


def _load_dir(directory: Path) -> dict[str, Protocol]:
    if not directory.is_dir():
        raise ProtocolError(str(directory), "is not a directory of protocol files")
    found: dict[str, Protocol] = {}
    for path in sorted(directory.glob("*.toml")):
        # editors leave hidden lock and swap files next to the ones being edited
        if path.name.startswith("."):
            continue
        protocol = load_protocol_file(path)
        earlier = found.get(protocol.treatment)
        if earlier is not None:
            raise ProtocolError(
                protocol.source,
                f"treatment {protocol.treatment!r} is already defined in {earlier.source}",
                field="treatment",
            )
        found[protocol.treatment] = protocol
    return found


def step_text(i18n: I18n, step: Step, lang: str, default_lang: str) -> str:
    """A step's words for one reader: the clinic's own text in that language, else the shipped
    translation, else the clinic's default language."""
    if lang in step.texts:
        return step.texts[lang]
    if i18n.has(lang, step.text):
        return i18n.t(lang, step.text)
    if default_lang in step.texts:
        return step.texts[default_lang]
    return i18n.t(default_lang, step.text)


def missing_translations(protocol: Protocol, i18n: I18n) -> dict[str, list[str]]:
    """Per step, the shipped languages with neither a clinic text nor a catalog translation."""
    missing: dict[str, list[str]] = {}
    for step in protocol.steps:
        langs = [
            lang
            for lang in i18n.languages
            if lang not in step.texts and not i18n.has(lang, step.text)
        ]
        if langs:
            missing[step.key] = langs
    return missing


def protocol_named(protocols: Mapping[str, Protocol], treatment: str) -> Protocol:
    """The one place a treatment name is resolved: its protocol, or BadInput naming the known
    ones."""
    try:
        return protocols[treatment]
    except KeyError:
        known = ", ".join(sorted(protocols))
        raise BadInput(f"unknown treatment {treatment!r} (known: {known})") from None
