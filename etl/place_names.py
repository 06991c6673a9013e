"""Which of a gazetteer's alternate names is a place's Arabic name and which its Russian one.

GeoNames' `alternatenames` carry no language tags: Arabic, Persian, Urdu, Kurdish and mangled
spellings sit side by side (`د مشق`, `دمشق`, `ladhqyہ`, `لاذقیہ`). The rule, pure and testable:

Arabic: a candidate is written in Arabic letters only (hamza forms, ta marbuta and alif maqsura
included; short-vowel marks allowed; space and hyphen between words), has no Persian, Urdu or
Kurdish letter (پ چ ژ گ ک ی ہ ۃ ے ھ ە ۆ ...), no Kurdish or Uyghur spelling in Arabic letters
(a word that begins with ئ, an ى inside a word: Arabic writes alif maqsura only at a word's end),
and no stray space (no one-letter word, no leading, trailing or doubled space). An official Arabic
name (OCHA's for the admin area a settlement is the seat of, or the governorate-capital table) wins.
Otherwise a candidate that is another one with "مدينة " ("city of") in front is dropped, and of
the rest the one whose consonants, read in Latin letters, are closest to the place's main (English)
name is taken; on a tie the longer (the form with the article, `اللاذقية` over `لاذقية`).

Russian: a candidate is written in the Russian alphabet only (no і ї є ґ ј ә қ ӏ ...), does not end
in a hard sign (pre-reform `Дамаскъ`) and has no stray space; the governorate-capital table wins,
otherwise the candidate whose Latin transliteration is closest to the main name (then the shorter).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

_AR_LETTERS = "\u0621-\u063a\u0641-\u064a"
_AR_MARKS = "\u064b-\u0652\u0670"
_ARABIC_ONLY = re.compile(f"^[{_AR_LETTERS}{_AR_MARKS}]+(?:[ -][{_AR_LETTERS}{_AR_MARKS}]+)*$")
_AR_MARK = re.compile(f"[{_AR_MARKS}]")
_RUSSIAN_ONLY = re.compile(r"^[А-ЯЁа-яё]+(?:[ -][А-ЯЁа-яё]+)*$")
_CITY_OF = "مدينة "

_AR_LATIN = dict(zip("ءأإآؤئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي",
                     ["", "", "", "", "", "", "", "b", "", "t", "t", "j", "h", "kh", "d", "z", "r",
                      "z", "s", "sh", "s", "d", "t", "z", "", "gh", "f", "q", "k", "l", "m", "n",
                      "h", "", "", ""], strict=True))
_RU_LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n",
                      "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "sh", "", "y", "",
                      "e", "yu", "ya"], strict=True))
_VOWELS = re.compile(r"[aeiouyw]")


def _latin(value: str) -> str:
    value = unicodedata.normalize("NFKD", value.lower())
    value = "".join(c for c in value if c.isascii() and c.isalpha())
    value = re.sub(r"^(al|el|ar|as|ad|at|az|an|ash)(?=[a-z]{3})", "", value)
    return re.sub(r"(.)\1+", r"\1", value)


def _closeness(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def _arabic_closeness(candidate: str, main: str) -> float:
    letters = _AR_MARK.sub("", candidate).replace("ال", "", 1)
    skeleton = _latin("".join(_AR_LATIN.get(c, "") for c in letters))
    return _closeness(_VOWELS.sub("", skeleton), _VOWELS.sub("", _latin(main)))


def _russian_closeness(candidate: str, main: str) -> float:
    return _closeness(_latin("".join(_RU_LATIN.get(c, c) for c in candidate.lower())), _latin(main))


CAPITALS_CSV = Path(__file__).parent / "sample" / "geonames" / "governorate_capitals.csv"


def is_arabic_name(value: str) -> bool:
    """Arabic letters only, no Persian/Urdu letter, no Kurdish or Uyghur spelling, no one-letter
    word, no stray space."""
    if not _ARABIC_ONLY.match(value):
        return False
    words = re.split(r"[ -]", _AR_MARK.sub("", value))
    return all(len(w) > 1 and not w.startswith("ئ") and "ى" not in w[:-1] for w in words)


def is_russian_name(value: str) -> bool:
    """The Russian alphabet only, no pre-reform final hard sign, no stray space."""
    if not _RUSSIAN_ONLY.match(value):
        return False
    return not any(w.endswith(("ъ", "Ъ")) for w in re.split(r"[ -]", value))


def arabic_name(alternates: Iterable[str], official: str | None = None, main: str = "") -> str | None:
    """The Arabic name by the rule in the module docstring (None when no candidate passes)."""
    if official and is_arabic_name(official.strip()):
        return official.strip()
    found = list(dict.fromkeys(a.strip() for a in alternates if is_arabic_name(a.strip())))
    plain = set(found)
    kept = [a for a in found if not (a.startswith(_CITY_OF) and a[len(_CITY_OF):] in plain)]
    return max(kept, key=lambda a: (round(_arabic_closeness(a, main), 3), len(_AR_MARK.sub("", a))),
               default=None)


def russian_name(alternates: Iterable[str], official: str | None = None, main: str = "") -> str | None:
    """The Russian name by the rule in the module docstring (None when no candidate passes)."""
    if official and is_russian_name(official.strip()):
        return official.strip()
    found = [a.strip() for a in alternates if is_russian_name(a.strip())]
    return min(found, key=lambda a: (-round(_russian_closeness(a, main), 3), len(a), a), default=None)


@cache
def capitals() -> dict[str, dict[str, str]]:
    """Governorate capitals by GeoNames id: {'name_en', 'name_ar', 'name_ru', 'pcode'}."""
    out: dict[str, dict[str, str]] = {}
    with CAPITALS_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["geonameid"], row)
    return out
