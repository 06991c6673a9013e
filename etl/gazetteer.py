"""Place-name matching for geocoding and gazetteer merges (pure, in memory; no DB, no I/O).

Names are compared by a key tolerant of case, diacritics, punctuation, Arabic articles and
transliteration habits: "Lattakia", "Latakia", "Al-Lādhiqīyah" and "al ladhiqiyah" all reduce to keys
that the gazetteer's alternate names connect.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

#: Characters that do not show: a BOM, zero-width ones and bidirectional controls. They are
#: removed from ids and look-up names (a place name, a pcode, a vocabulary value), kept in free
#: text (notes).
INVISIBLE_CHARS = ("\ufeff\u200b\u200c\u200d\u2060\u200e\u200f\u202a\u202b\u202c\u202d"
                   "\u202e\u2066\u2067\u2068\u2069")
INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
_PUNCT = re.compile(r"[`'’‘ʿʾʻ´\"().,/_-]+")
_ARTICLE = re.compile(r"^(?:al|el|ad|ar|as|ash|at|az|an|adh|ath)\s+")
_DOUBLE = re.compile(r"(.)\1+")
_ARABIC_ARTICLE = re.compile(r"^ال")


def name_key(name: str) -> str:
    """The comparison key of a place name ('' when nothing is left)."""
    value = unicodedata.normalize("NFKD", INVISIBLE.sub("", name).strip().lower())
    value = "".join(c for c in value if not unicodedata.combining(c))
    value = value.replace("ou", "u").replace("ee", "i").replace("dh", "z").replace("th", "t")
    value = _PUNCT.sub(" ", value)
    value = " ".join(value.split())
    value = _ARTICLE.sub("", value)
    value = _ARABIC_ARTICLE.sub("", value)
    value = value.replace(" ", "")
    return _DOUBLE.sub(r"\1", value)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6_371_000 * 2 * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    lon: float
    lat: float
    population: int | None = None
    admin: tuple[str, ...] = ()  # names of the admin areas holding it (any level)
    pcode: str | None = None
    source: str | None = None

    def as_detail(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "lon": self.lon, "lat": self.lat,
                "admin": list(self.admin)}


@dataclass
class Gazetteer:
    """Settlements by name key; `same_place_m`: candidates closer than this are one place."""

    same_place_m: float = 5_000.0
    _by_key: dict[str, list[Place]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def build(cls, entries: Iterable[tuple[Place, Iterable[str]]]) -> Gazetteer:
        gaz = cls()
        for place, names in entries:
            for key in {name_key(n) for n in (place.name, *names) if n}:
                if key:
                    gaz._by_key[key].append(place)
        return gaz

    def __len__(self) -> int:
        return len(self._by_key)

    def candidates(self, name: str, admin: str | None = None) -> list[Place]:
        """Distinct places matching `name` (and `admin`, when given and it narrows the list)."""
        found = self._by_key.get(name_key(name), [])
        if admin and found:
            akey = name_key(admin)
            narrowed = [p for p in found if any(name_key(a) == akey for a in p.admin)]
            found = narrowed or found
        distinct: list[Place] = []
        for place in sorted(found, key=lambda p: -(p.population or 0)):
            if all(distance_m(place.lon, place.lat, d.lon, d.lat) > self.same_place_m
                   for d in distinct):
                distinct.append(place)
        return distinct

    def near(self, name: str, lon: float, lat: float, within_m: float,
             other_than_source: str | None = None) -> Place | None:
        """A known place of that name within `within_m` metres of the point (from another source)."""
        for place in self._by_key.get(name_key(name), []):
            if other_than_source is not None and place.source == other_than_source:
                continue
            if distance_m(lon, lat, place.lon, place.lat) <= within_m:
                return place
        return None
