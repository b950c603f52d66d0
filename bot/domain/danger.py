"""Danger words: a sign that needs an emergency or urgent answer, recognised in a patient's words.

The phrases are data, one file per language (`bot/safety/<language>.toml`, read by
`bot/services/safety.py`); this module parses a file's text, compiles every language into one
matcher, and judges a message. Why it matches the way it does is in docs/clinical.md#danger-words.

A phrase is words separated by spaces, with three signs of its own:

    lips * swell*/swollen
    ^^^^ ^ ^^^^^^ ^^^^^^^
    word | stem   another word that may stand in the same place ("/": either)
         a lone star: up to GAP_WORDS other words may stand here

- a word matches the same word in a message, whatever its case, accents, harakat or repeated
  letters ("BREATHEEE" is "breathe"), and with one typo in a word of FUZZY_ONE_FROM letters or
  more (two from FUZZY_TWO_FROM); the first letter must be right;
- `word*` (a star at the end of a word) matches every word that starts with it: the endings of
  Russian and the many forms of a verb;
- a lone `*` lets up to GAP_WORDS words stand between its neighbours ("my lips r swelling").

A negation just before an urgent-level phrase ("no fever", "I don't have a fever"), or inside its
gap ("the redness is not spreading"), cancels that phrase; nothing cancels an emergency-level one.
"""

import difflib
import enum
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from bot.domain.triage import Level

# Stable codes, named in logs and alerts; the order breaks ties between signs of one level.
SIGNS: Final[tuple[str, ...]] = (
    "breathing",
    "faint",
    "vision",
    "fever",
    "pus",
    "spreading",
    "skin_colour",
    "severe_pain",
    "hives",
)
# The net is for signs that cannot wait: a phrase list for "unusual" would alert on every worry.
LEVELS: Final[tuple[Level, ...]] = (Level.EMERGENCY, Level.URGENT)

# A lone star: "mes lèvres sont en train de gonfler" has four words between "lèvres" and "gonfler".
GAP_WORDS: Final = 4
# "I don't have a fever": the negation is three words before the sign at most.
NEGATION_WINDOW: Final = 3
# A shorter stem matches too much ("li*" would match "like").
MIN_STEM: Final = 3
# Typos: one from 6 letters, two from 10. Five-letter words are too close to everyday words
# ("fever": "never", "fewer"; "faint": "paint"), so a phrase list spells their common typos out.
FUZZY_ONE_FROM: Final = 6
FUZZY_TWO_FROM: Final = 10

_APOSTROPHES: Final = {ord(c): "'" for c in "’‘‛ʼʹ`´′＇"}
# Removed after the decomposition: tatweel, zero-width and direction marks.
_INVISIBLE: Final = "\u0640\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u061c"
_SPECIAL: Final[dict[str, str]] = {
    "œ": "oe",
    "æ": "ae",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ı": "i",
    "ة": "ه",  # ta marbuta → ha: patients write either
    "ى": "ي",  # alef maqsura → ya
    "ٱ": "ا",  # alef wasla → alef (hamza forms lose their hamza in the decomposition)
    "ک": "ك",
    "ی": "ي",
    "ۀ": "ه",
}
_LETTERS: Final[dict[int, str | None]] = {
    **dict.fromkeys(map(ord, _INVISIBLE), None),
    **{ord(letter): plain for letter, plain in _SPECIAL.items()},
    **{0x0660 + d: str(d) for d in range(10)},  # Arabic-Indic digits
    **{0x06F0 + d: str(d) for d in range(10)},  # Eastern Arabic-Indic digits
}
# A word (letters and digits, apostrophes inside) or a mark that ends a clause.
_TOKEN: Final = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[.!?;:,\n\u060c\u061b\u061f]")
_WORD: Final = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_REPEATS: Final = re.compile(r"([^\W\d_])\1+")
_TOML_POSITION: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_SETTINGS: Final = ("negations", "clause_breaks", "prefixes")
_SIGN_KEYS: Final = ("level", "phrases")


class DangerWordsError(ValueError):
    """A phrase file cannot be used; the message names the file, the line and the key."""

    def __init__(
        self, source: str, problem: str, *, key: str | None = None, line: int | None = None
    ) -> None:
        self.source = source
        self.problem = problem
        self.key = key
        self.line = line
        where = [source]
        if line is not None:
            where.append(f"line {line}")
        if key is not None:
            where.append(key)
        super().__init__(": ".join([*where, problem]))


def fold(text: str) -> str:
    """Case, accents, harakat, hamza forms, ta marbuta and apostrophe variants made one."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).casefold())
    if not text.isascii():
        text = "".join(c for c in text if not unicodedata.combining(c)).translate(_LETTERS)
    return text


def _squeeze(word: str) -> str:
    """Repeated letters count once, in the message and in the phrase alike ("breatheee")."""
    return _REPEATS.sub(r"\1", word)


# --- one language's file -------------------------------------------------------------------


class _Gap(enum.Enum):
    GAP = "*"


_GAP: Final = _Gap.GAP


@dataclass(frozen=True, slots=True)
class Word:
    """One way to fill a place in a phrase: a folded word, or a stem when `is_stem`."""

    text: str
    is_stem: bool


Slot = tuple[Word, ...]  # the words that may stand in one place
Element = Slot | _Gap


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase of a file, as written (for logs) and compiled."""

    text: str
    elements: tuple[Element, ...]
    line: int | None = None


@dataclass(frozen=True, slots=True)
class SignPhrases:
    """One sign's table: its level and phrases, and the line of its level (for errors)."""

    sign: str
    level: Level
    phrases: tuple[Phrase, ...]
    line: int | None = None


@dataclass(frozen=True)
class PhraseFile:
    """One language's danger words, validated."""

    language: str
    source: str
    signs: Mapping[str, SignPhrases]
    negations: tuple[Word, ...] = ()
    clause_breaks: tuple[Word, ...] = ()
    prefixes: tuple[str, ...] = ()


class _Lines:
    """Where a table, key or phrase is in the file's text; tomllib keeps no positions."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def table(self, name: str) -> int | None:
        pattern = re.compile(rf"\s*\[\s*[\"']?{re.escape(name)}[\"']?\s*\]")
        return self._find(lambda line: pattern.match(line) is not None, None)

    def key(self, name: str, after: int | None = None) -> int | None:
        pattern = re.compile(rf"\s*[\"']?{re.escape(name)}[\"']?\s*=")
        return self._find(lambda line: pattern.match(line) is not None, after)

    def string(self, value: str, after: int | None) -> int | None:
        quoted = (f'"{value}"', f"'{value}'")
        return self._find(lambda line: any(q in line for q in quoted), after)

    def _find(self, test: Callable[[str], bool], after: int | None) -> int | None:
        start = after or 1
        for number, line in enumerate(self._lines[start - 1 :], start=start):
            if not line.lstrip().startswith("#") and test(line):
                return number
        return None


def parse_phrase(text: str) -> tuple[Element, ...]:
    """`"lips * swell*/swollen"` → its places; ValueError saying what is wrong."""
    if not text.strip():
        raise ValueError("is empty")
    elements: list[Element] = []
    for chunk in text.replace("-", " ").split():
        if chunk == "*":
            if not elements or isinstance(elements[-1], _Gap):
                raise ValueError("a lone * must stand between two words")
            elements.append(_GAP)
            continue
        words = tuple(_parse_word(alternative) for alternative in chunk.split("/"))
        elements.append(tuple(dict.fromkeys(words)))
    if isinstance(elements[-1], _Gap):
        raise ValueError("a lone * must stand between two words")
    return tuple(elements)


def _parse_word(text: str) -> Word:
    if not text:
        raise ValueError("has an empty word around a /")
    is_stem = text.endswith("*")
    body = fold(text.removesuffix("*"))
    if _WORD.fullmatch(body) is None:
        raise ValueError(
            f"{text!r} is not a plain word: write letters, digits and apostrophes; "
            "* ends a stem or stands alone, / separates words that may stand in one place"
        )
    body = _squeeze(body.replace("'", ""))
    if is_stem and len(body) < MIN_STEM:
        raise ValueError(
            f"the stem {text!r} is shorter than {MIN_STEM} letters (a repeated letter counts "
            "once): it would match too much"
        )
    return Word(body, is_stem)


def parse_phrase_file(text: str, source: str, language: str) -> PhraseFile:
    """Reads one language's file; every mistake is a DangerWordsError naming the line and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        line = int(position.group(1)) if position else None
        problem = _TOML_POSITION.sub("", message) if position else message
        raise DangerWordsError(source, f"is not valid TOML: {problem}", line=line) from None
    lines = _Lines(text)
    settings: dict[str, tuple[str, ...]] = {}
    signs: dict[str, SignPhrases] = {}
    for key, value in data.items():
        if key in _SETTINGS:
            settings[key] = _strings(value, source, key, lines.key(key))
        elif isinstance(value, dict):
            signs[key] = _parse_sign(key, value, source, lines)
        else:
            raise DangerWordsError(
                source,
                f"unknown setting (known: {', '.join(_SETTINGS)}; a sign is a [table])",
                key=key,
                line=lines.key(key),
            )
    missing = [sign for sign in SIGNS if sign not in signs]
    if missing:
        raise DangerWordsError(
            source, f"no phrases for {', '.join(missing)}: every sign needs a [table] of phrases"
        )
    negations = _words(settings, "negations", source, lines)
    breaks = _words(settings, "clause_breaks", source, lines)
    prefixes = tuple(fold(p) for p in settings.get("prefixes", ()))
    bad_prefix = next((p for p in prefixes if _WORD.fullmatch(p) is None), None)
    if bad_prefix is not None:
        raise DangerWordsError(
            source,
            f"{bad_prefix!r} is not a word beginning",
            key="prefixes",
            line=lines.key("prefixes"),
        )
    return PhraseFile(
        language=language,
        source=source,
        signs=MappingProxyType({sign: signs[sign] for sign in SIGNS}),
        negations=negations,
        clause_breaks=breaks,
        prefixes=tuple(sorted(set(prefixes), key=len, reverse=True)),
    )


def _parse_sign(sign: str, table: Mapping[str, object], source: str, lines: _Lines) -> SignPhrases:
    header = lines.table(sign)
    if sign not in SIGNS:
        close = difflib.get_close_matches(sign, SIGNS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(SIGNS)})"
        raise DangerWordsError(source, f"unknown sign{hint}", key=f"[{sign}]", line=header)
    for key in table:
        if key not in _SIGN_KEYS:
            raise DangerWordsError(
                source,
                f"unknown key (a sign has {' and '.join(_SIGN_KEYS)})",
                key=f"{sign}.{key}",
                line=lines.key(key, header),
            )
    level_line = lines.key("level", header)
    raw_level = table.get("level")
    names = " or ".join(level.name_key for level in LEVELS)
    level = next((lv for lv in LEVELS if lv.name_key == raw_level), None)
    if level is None:
        problem = "missing" if raw_level is None else f"{raw_level!r} is not a level"
        raise DangerWordsError(
            source, f"{problem}: write {names}", key=f"{sign}.level", line=level_line or header
        )
    raw_phrases = _strings(
        table.get("phrases"), source, f"{sign}.phrases", lines.key("phrases", header)
    )
    if not raw_phrases:
        raise DangerWordsError(
            source, "needs at least one phrase", key=f"{sign}.phrases", line=header
        )
    phrases: list[Phrase] = []
    seen: set[tuple[Element, ...]] = set()
    for number, raw in enumerate(raw_phrases, start=1):
        line = lines.string(raw, header)
        key = f"{sign}.phrases[{number}] {raw!r}"
        try:
            elements = parse_phrase(raw)
        except ValueError as exc:
            raise DangerWordsError(source, str(exc), key=key, line=line) from None
        if elements in seen:
            raise DangerWordsError(source, "is listed twice", key=key, line=line)
        seen.add(elements)
        phrases.append(Phrase(raw, elements, line))
    return SignPhrases(sign, level, tuple(phrases), level_line)


def _words(
    settings: Mapping[str, tuple[str, ...]], key: str, source: str, lines: _Lines
) -> tuple[Word, ...]:
    words = []
    for number, raw in enumerate(settings.get(key, ()), start=1):
        try:
            words.append(_parse_word(raw))
        except ValueError as exc:
            line = lines.string(raw, lines.key(key))
            raise DangerWordsError(
                source, str(exc), key=f"{key}[{number}] {raw!r}", line=line
            ) from None
    return tuple(words)


def _strings(value: object, source: str, key: str, line: int | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DangerWordsError(source, "must be a list of quoted phrases", key=key, line=line)
    return tuple(value)


# --- the compiled matcher ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignHit:
    """One sign found: its code, its level, and the phrase from the file that found it (safe to
    log, unlike the patient's words)."""

    sign: str
    level: Level
    phrase: str
    language: str


@dataclass(frozen=True, slots=True)
class DangerMatch:
    """What a message shows: the highest level and every sign found, the highest first."""

    level: Level
    hits: tuple[SignHit, ...]

    @property
    def sign(self) -> str:
        """The sign that decides the level."""
        return self.hits[0].sign

    @property
    def signs(self) -> tuple[str, ...]:
        return tuple(hit.sign for hit in self.hits)

    @property
    def phrase(self) -> str:
        """The file's phrase that decided the level, for logs."""
        return self.hits[0].phrase

    @property
    def language(self) -> str:
        """The language of the phrase that decided the level."""
        return self.hits[0].language

    def describe(self) -> str:
        """One line for logs: `emergency: breathing (en "can't breathe"), fever (fr "fièvre")`."""
        found = ", ".join(f'{hit.sign} ({hit.language} "{hit.phrase}")' for hit in self.hits)
        return f"{self.level.name_key}: {found}"


@dataclass(frozen=True, slots=True)
class _Compiled:
    sign: str
    level: Level
    text: str
    language: str
    slots: tuple[frozenset[int] | None, ...]  # None: a gap


@dataclass(slots=True)
class _Message:
    """A message as the matcher sees it: per word, the ids of the phrase words it matches."""

    matched: list[frozenset[int]] = field(default_factory=list)
    forms: list[tuple[str, ...]] = field(default_factory=list)
    clause: list[int] = field(default_factory=list)


def _typos(length: int) -> int:
    return 2 if length >= FUZZY_TWO_FROM else 1 if length >= FUZZY_ONE_FROM else 0


def _deletions(word: str, times: int) -> set[str]:
    found = {word}
    for _ in range(times):
        found |= {w[:i] + w[i + 1 :] for w in found for i in range(len(w))}
    return found


def _within_one(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or swap of neighbours apart."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    if i >= len(a) - 1 or a[i + 1 :] == b[i + 1 :]:
        return True
    return a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment), stopping early past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _close(word: str, form: str) -> bool:
    """`form` is `word` with the typos its length allows; the first letter must be right."""
    typos = _typos(len(word))
    if not typos or word[0] != form[0]:
        return False
    return _within_one(word, form) if typos == 1 else _distance(word, form, typos) <= typos


class DangerMatcher:
    """Every language's phrases, compiled once; `match` judges one message in microseconds."""

    _CACHE_SIZE: Final = 20_000

    def __init__(self, files: Iterable[PhraseFile]) -> None:
        self._files: dict[str, PhraseFile] = {}
        levels: dict[str, tuple[Level, PhraseFile]] = {}
        for phrase_file in files:
            if phrase_file.language in self._files:
                earlier = self._files[phrase_file.language].source
                raise DangerWordsError(
                    phrase_file.source, f"language {phrase_file.language!r} is already in {earlier}"
                )
            for sign, entry in phrase_file.signs.items():
                first = levels.setdefault(sign, (entry.level, phrase_file))
                if first[0] is not entry.level:
                    raise DangerWordsError(
                        phrase_file.source,
                        f"is {entry.level.name_key} here but {first[0].name_key} in "
                        f"{first[1].source}: a sign has one level in every language",
                        key=f"{sign}.level",
                        line=entry.line,
                    )
            self._files[phrase_file.language] = phrase_file
        if not self._files:
            raise DangerWordsError("danger words", "no language has a phrase file")
        self.languages: tuple[str, ...] = tuple(sorted(self._files))
        self.levels: Mapping[str, Level] = MappingProxyType(
            {sign: level for sign, (level, _) in levels.items()}
        )
        self._word_ids: dict[Word, int] = {}
        self._words: list[Word] = []
        self._exact: dict[str, list[int]] = {}
        self._stems: dict[str, list[int]] = {}
        # Deletion neighbourhoods (the SymSpell idea): two words a typo or two apart share a
        # spelling with that many letters deleted, so candidates are found by lookups, and only
        # they are measured. Per number of typos: words, stems, and the lengths worth trying.
        self._near_words: dict[int, dict[str, set[int]]] = {1: {}, 2: {}}
        self._near_stems: dict[int, dict[str, set[int]]] = {1: {}, 2: {}}
        self._word_lengths: dict[int, set[int]] = {1: set(), 2: set()}
        self._prefix_lengths: dict[int, set[int]] = {1: set(), 2: set()}
        self._anchors: dict[str, dict[int, list[_Compiled]]] = {}
        for language, phrase_file in self._files.items():
            anchors: dict[int, list[_Compiled]] = {}
            for entry in phrase_file.signs.values():
                for phrase in entry.phrases:
                    compiled = self._compile(entry, phrase, language)
                    anchor = compiled.slots[0]
                    assert anchor is not None  # parse_phrase never starts with a gap
                    for word_id in anchor:
                        anchors.setdefault(word_id, []).append(compiled)
            self._anchors[language] = anchors
        self._stem_lengths = sorted({len(w.text) for w in self._words if w.is_stem})
        self._negations = self._word_set(w for f in self._files.values() for w in f.negations)
        self._breaks = self._word_set(w for f in self._files.values() for w in f.clause_breaks)
        self._prefixes = tuple(
            sorted({p for f in self._files.values() for p in f.prefixes}, key=len, reverse=True)
        )
        self._cache: dict[str, tuple[tuple[str, ...], frozenset[int]]] = {}

    # compiling

    def _compile(self, entry: SignPhrases, phrase: Phrase, language: str) -> _Compiled:
        slots = tuple(
            None if isinstance(element, _Gap) else frozenset(self._word_id(w) for w in element)
            for element in phrase.elements
        )
        return _Compiled(entry.sign, entry.level, phrase.text, language, slots)

    def _word_id(self, word: Word) -> int:
        known = self._word_ids.get(word)
        if known is not None:
            return known
        word_id = len(self._words)
        self._word_ids[word] = word_id
        self._words.append(word)
        (self._stems if word.is_stem else self._exact).setdefault(word.text, []).append(word_id)
        typos = _typos(len(word.text)) if word.text.isalpha() else 0
        if typos:
            index = (self._near_stems if word.is_stem else self._near_words)[typos]
            for near in _deletions(word.text, typos):
                index.setdefault(near, set()).add(word_id)
            lengths = (self._prefix_lengths if word.is_stem else self._word_lengths)[typos]
            lengths.update(range(len(word.text) - typos, len(word.text) + typos + 1))
        return word_id

    @staticmethod
    def _word_set(words: Iterable[Word]) -> tuple[frozenset[str], tuple[str, ...]]:
        words = list(words)
        exact = frozenset(w.text for w in words if not w.is_stem)
        stems = tuple(sorted({w.text for w in words if w.is_stem}))
        return exact, stems

    # matching

    def match(self, text: str, language: str | None = None) -> DangerMatch | None:
        """The danger signs in `text`, trying `language` first, then every other (patients mix
        languages); None when there are none. The text is neither kept nor logged."""
        message = self._read(text)
        if not message.matched:
            return None
        order = [language] if language in self._anchors else []
        order += [lang for lang in self.languages if lang != language]
        hits: dict[str, SignHit] = {}
        for lang in order:
            self._find(message, self._anchors[lang], hits)
        if not hits:
            return None
        ranked = sorted(hits.values(), key=lambda h: (-h.level, SIGNS.index(h.sign)))
        return DangerMatch(ranked[0].level, tuple(ranked))

    def _find(
        self, message: _Message, anchors: Mapping[int, list[_Compiled]], hits: dict[str, SignHit]
    ) -> None:
        for start, matched in enumerate(message.matched):
            for word_id in matched:
                for phrase in anchors.get(word_id, ()):
                    if phrase.sign in hits:
                        continue
                    for gaps in self._fits(message, phrase.slots, 1, start + 1, ()):
                        if phrase.level is Level.EMERGENCY or not self._negated(
                            message, start, gaps
                        ):
                            hits[phrase.sign] = SignHit(
                                phrase.sign, phrase.level, phrase.text, phrase.language
                            )
                            break

    def _fits(
        self,
        message: _Message,
        slots: Sequence[frozenset[int] | None],
        index: int,
        position: int,
        gaps: tuple[int, ...],
    ) -> Iterator[tuple[int, ...]]:
        """Every way the rest of a phrase fits from `position`, as the word positions its gaps
        took."""
        if index == len(slots):
            yield gaps
            return
        slot = slots[index]
        matched = message.matched
        if slot is not None:
            if position < len(matched) and not slot.isdisjoint(matched[position]):
                yield from self._fits(message, slots, index + 1, position + 1, gaps)
            return
        following = slots[index + 1]
        assert following is not None  # parse_phrase never puts two gaps together
        for skip in range(GAP_WORDS + 1):
            at = position + skip
            if at >= len(matched):
                return
            if not following.isdisjoint(matched[at]):
                skipped = gaps + tuple(range(position, at))
                yield from self._fits(message, slots, index + 2, at + 1, skipped)

    def _negated(self, message: _Message, start: int, gaps: tuple[int, ...]) -> bool:
        # "n'empire pas": the negation is the elision of the phrase's own first word
        if self._is(message.forms[start][1:], self._negations):
            return True
        for position in gaps:
            if self._is(message.forms[position], self._negations):
                return True
        clause = message.clause[start]
        for position in range(start - 1, max(start - NEGATION_WINDOW, 0) - 1, -1):
            forms = message.forms[position]
            if message.clause[position] != clause or self._is(forms, self._breaks):
                return False
            if self._is(forms, self._negations):
                return True
        return False

    @staticmethod
    def _is(forms: tuple[str, ...], words: tuple[frozenset[str], tuple[str, ...]]) -> bool:
        exact, stems = words
        return any(form in exact or form.startswith(stems) for form in forms)

    def _read(self, text: str) -> _Message:
        message = _Message()
        clause = 0
        for token in _TOKEN.findall(fold(text)):
            if _WORD.fullmatch(token) is None:
                clause += 1
                continue
            forms, matched = self._word(token)
            message.matched.append(matched)
            message.forms.append(forms)
            message.clause.append(clause)
        return message

    def _word(self, token: str) -> tuple[tuple[str, ...], frozenset[int]]:
        """A word's spellings and the phrase words they match; remembered, since patients use
        few words often (the cache is bounded, and holds words, never a message)."""
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        forms = self._forms(token)
        found: set[int] = set()
        for form in forms:
            found.update(self._ids(form))
        result = (forms, frozenset(found))
        if len(self._cache) >= self._CACHE_SIZE:
            self._cache.clear()
        self._cache[token] = result
        return result

    def _forms(self, token: str) -> tuple[str, ...]:
        """The spellings a word may be matched as: joined ("can't" → "cant"), the word after an
        elision and the elision ("n'empire" → "empire", "n"), and without a prefix from the files
        ("والتنفس" → "تنفس"). The joined spelling comes first."""
        joined = token.replace("'", "")
        raw = [joined]
        if "'" in token:
            raw += [token.rsplit("'", 1)[1], token.split("'", 1)[0]]
        for prefix in self._prefixes:
            if joined.startswith(prefix) and len(joined) - len(prefix) >= 2:
                raw.append(joined[len(prefix) :])
        return tuple(dict.fromkeys(_squeeze(form) for form in raw))

    def _ids(self, form: str) -> set[int]:
        found: set[int] = set(self._exact.get(form, ()))
        for length in self._stem_lengths:
            if length > len(form):
                break
            found.update(self._stems.get(form[:length], ()))
        if len(form) >= FUZZY_ONE_FROM - 1 and form.isalpha():
            found.update(self._near_ids(form))
        return found

    def _near_ids(self, form: str) -> set[int]:
        """Phrase words one typo away (two for long ones), by their deletion neighbourhoods."""
        words: set[int] = set()
        stems: set[int] = set()
        for typos in (1, 2):
            if len(form) in self._word_lengths[typos]:
                index = self._near_words[typos]
                for near in _deletions(form, typos):
                    words.update(index.get(near, ()))
            for length in self._prefix_lengths[typos]:
                if length <= len(form):
                    index = self._near_stems[typos]
                    for near in _deletions(form[:length], typos):
                        stems.update(index.get(near, ()))
        found = {i for i in words if _close(self._words[i].text, form)}
        for i in stems:
            stem = self._words[i].text
            typos = _typos(len(stem))
            lengths = range(len(stem) - typos, min(len(stem) + typos, len(form)) + 1)
            if any(_close(stem, form[:length]) for length in lengths):
                found.add(i)
        return found
