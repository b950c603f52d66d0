"""Danger words: the shipped phrase files, loaded once, and a patient's message judged against
them (docs/clinical.md#danger-words)."""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from bot.domain.danger import (
    DangerMatch,
    DangerMatcher,
    DangerWordsError,
    PhraseFile,
    parse_phrase_file,
)

# Next to the code, so it is found in a checkout and in an installed (unzipped) package alike;
# the wheel ships everything under bot/, so bot/safety/*.toml too.
SHIPPED_DIR: Final = Path(__file__).resolve().parent.parent / "safety"

_LANGUAGE: Final = re.compile(r"[a-z]{2,3}")


class Safety:
    """Every language's danger words, compiled once; built in the composition root and shared
    (it keeps no patient's words, only a bounded cache of single words)."""

    def __init__(self, matcher: DangerMatcher) -> None:
        self._matcher = matcher

    @property
    def languages(self) -> tuple[str, ...]:
        return self._matcher.languages

    def match(self, text: str, language: str | None = None) -> DangerMatch | None:
        """The emergency or urgent signs in `text`, the patient's language tried first and then
        every other; None when there are none. Log `DangerMatch.describe()`, never `text`."""
        if not text:
            return None
        return self._matcher.match(text, language)


def load_phrase_file(path: Path) -> PhraseFile:
    """Reads and validates one language's file (`fr.toml` is French); every problem, reading
    included, is a DangerWordsError naming the file."""
    source = str(path)
    language = path.stem
    if _LANGUAGE.fullmatch(language) is None:
        raise DangerWordsError(
            source, "a phrase file is named after its language code, like fr.toml"
        )
    try:
        # utf-8-sig: editors on Windows often start a UTF-8 file with a byte-order mark
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DangerWordsError(
            source, f"is not UTF-8 text (bad byte at offset {exc.start})"
        ) from exc
    except OSError as exc:
        raise DangerWordsError(source, f"cannot be read: {exc.strerror or exc}") from exc
    return parse_phrase_file(text, source, language)


def load_safety(directory: Path = SHIPPED_DIR, *, languages: Iterable[str] = ()) -> Safety:
    """Every `<language>.toml` in `directory`, compiled into one matcher. Each of `languages`
    (the shipped catalogs) must have a file: a language without danger words would miss every
    emergency its patients write."""
    if not directory.is_dir():
        raise DangerWordsError(str(directory), "is not a directory of danger-word files")
    files = [
        load_phrase_file(path)
        for path in sorted(directory.glob("*.toml"))
        # editors leave hidden lock and swap files next to the ones being edited
        if not path.name.startswith(".")
    ]
    found = {phrase_file.language for phrase_file in files}
    missing = [language for language in languages if language not in found]
    if missing:
        raise DangerWordsError(
            str(directory), f"has no danger-word file for {', '.join(sorted(missing))}"
        )
    if not files:
        raise DangerWordsError(
            str(directory), "holds no danger-word files: was the package installed with its data?"
        )
    return Safety(DangerMatcher(files))
