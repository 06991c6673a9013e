"""The report maps' words, from the viewer's catalogues (web/static/i18n/<lang>.json).

One vocabulary for the viewer and the reports: a code such as `non_state_violence` reads as
`vocab.event_type.non_state_violence` in the chosen language everywhere. The files are read as
data (nothing is imported from `web`); a key missing in a language falls back to English."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "ar", "ru")
RTL = frozenset({"ar"})
CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# other spellings of an event type (UCDP GED numbers, ACLED types) -> the canonical code
_EVENT_ALIASES = {
    "state_based": "state_based_violence", "1": "state_based_violence",
    "battles": "state_based_violence",
    "non_state": "non_state_violence", "2": "non_state_violence",
    "explosions_remote_violence": "non_state_violence",
    "one_sided": "one_sided_violence", "3": "one_sided_violence",
    "violence_against_civilians": "one_sided_violence",
    "riots": "protests", "protest": "protests", "riot": "protests",
    "strategic_development": "strategic_developments",
}


def _read(lang: str) -> dict[str, str]:
    path = CATALOGUE_DIR / f"{lang}.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def canonical(field: str, code: str) -> str:
    """The catalogue's code for a spelling of it ('2', 'Non-state' -> 'non_state_violence')."""
    lower = code.strip().lower()
    if field == "event_type":
        key = re.sub(r"[\s\-/]+", "_", lower)
        return _EVENT_ALIASES.get(key, key)
    return lower


@dataclass(frozen=True)
class Catalogue:
    """The words of one language, English underneath."""

    lang: str
    own: dict[str, str]
    english: dict[str, str]

    @property
    def dir(self) -> str:
        return "rtl" if self.lang in RTL else "ltr"

    def t(self, key: str, **values: Any) -> str:
        text = self.own.get(key) or self.english.get(key) or key
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    def vocab(self, field: str, code: str | None) -> str:
        """The label of a code; an unknown code in plain words ('some_code' -> 'Some code')."""
        if not code:
            return self.t("sitrep.unknown")
        key = f"vocab.{field}.{canonical(field, code)}"
        if key in self.own or key in self.english:
            return self.t(key)
        text = code.replace("_", " ").strip()
        return text[:1].upper() + text[1:]

    def _digits(self, text: str) -> str:
        return text.translate(_ARABIC_DIGITS) if self.lang == "ar" else text

    def number(self, value: float | None, digits: int = 0) -> str:
        """Grouped as the language writes numbers: 1,263 / 1 263 / ١٬٢٦٣."""
        if value is None:
            return self.t("sitrep.unknown")
        text = f"{value:,.{digits}f}"
        if self.lang == "ru":
            text = text.replace(",", "\u202f").replace(".", ",")
        elif self.lang == "ar":
            text = self._digits(text.replace(",", "٬").replace(".", "٫"))
        return text

    def day(self, value: datetime | str | None) -> str:
        """A day: 2016-03-01 / 01.03.2016 / ٠١/٠٣/٢٠١٦."""
        if value is None or value == "":
            return self.t("sitrep.unknown")
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        year, month, day = text[:10].split("-")
        if self.lang == "ru":
            return f"{day}.{month}.{year}"
        if self.lang == "ar":
            return self._digits(f"{day}/{month}/{year}")
        return f"{year}-{month}-{day}"

    def instant(self, value: datetime) -> str:
        """A day and time (UTC)."""
        return f"{self.day(value)} {self._digits(f'{value:%H:%M}')}"


@lru_cache(maxsize=8)
def catalogue(lang: str = "en") -> Catalogue:
    """The catalogue of `lang` (one of LANGUAGES; anything else is English)."""
    lang = lang if lang in LANGUAGES else "en"
    english = _read("en")
    return Catalogue(lang, english if lang == "en" else _read(lang), english)
