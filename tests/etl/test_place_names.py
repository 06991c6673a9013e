"""The gazetteer's names: which alternate is the Arabic and which the Russian name (the rule in
etl/place_names.py), the 14 governorate capitals in three languages, and look-ups by alternate
names, accent- and hamza-insensitive, as the ETL's geocoding does them."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from etl.gazetteer import Gazetteer, Place, name_key
from etl.place_names import arabic_name, capitals, is_arabic_name, is_russian_name, russian_name
from etl.records import Context, RawRecord
from etl.transforms.geonames import to_settlement

CTX = Context(source="geonames", now=datetime(2026, 1, 1, tzinfo=UTC))
SAMPLE = Path(__file__).resolve().parents[2] / "etl" / "sample"
ROWS = {r["geonameid"]: r for r in csv.DictReader(
    (SAMPLE / "geonames" / "sy_cities500_geonames.csv").open(encoding="utf-8"))}

#: governorate (OCHA pcode) -> its capital in English, Arabic and Russian
CAPITALS = {
    "SY01": ("Damascus", "دمشق", "Дамаск"),
    "SY02": ("Aleppo", "حلب", "Алеппо"),
    "SY03": ("Damascus", "دمشق", "Дамаск"),  # Rural Damascus is governed from Damascus
    "SY04": ("Homs", "حمص", "Хомс"),
    "SY05": ("Hama", "حماة", "Хама"),
    "SY06": ("Latakia", "اللاذقية", "Латакия"),
    "SY07": ("Idlib", "إدلب", "Идлиб"),
    "SY08": ("Al-Hasakah", "الحسكة", "Эль-Хасака"),
    "SY09": ("Deir ez-Zor", "دير الزور", "Дейр-эз-Зор"),
    "SY10": ("Tartus", "طرطوس", "Тартус"),
    "SY11": ("Raqqa", "الرقة", "Эр-Ракка"),
    "SY12": ("Daraa", "درعا", "Дераа"),
    "SY13": ("As-Suwayda", "السويداء", "Эс-Сувейда"),
    "SY14": ("Quneitra", "القنيطرة", "Кунейтра"),
}


def test_the_14_governorate_capitals_in_three_languages() -> None:
    with (SAMPLE / "geonames" / "governorate_capitals.csv").open(encoding="utf-8") as f:
        table = {r["pcode"]: r for r in csv.DictReader(f)}
    assert {r["geonameid"] for r in table.values()} == set(capitals())
    assert set(table) == set(CAPITALS)
    for pcode, (en, ar, ru) in CAPITALS.items():
        row = table[pcode]
        assert (row["name_en"], row["name_ar"], row["name_ru"]) == (en, ar, ru), pcode
        assert row["geonameid"] in ROWS, pcode  # a real gazetteer place
        assert is_arabic_name(ar) and is_russian_name(ru)
        # the ETL stores this Arabic name for the place
        raw = ROWS[row["geonameid"]]
        done = to_settlement(RawRecord(1, dict(raw)), CTX)
        assert done.values["name_ar"] == ar, pcode  # type: ignore[union-attr]
        assert done.values["name_ru"] == ru, pcode  # type: ignore[union-attr]


def test_the_arabic_rule_refuses_spaced_persian_urdu_and_latin_forms() -> None:
    assert not is_arabic_name("د مشق")  # a stray space: a one-letter word
    assert not is_arabic_name("ladhqyہ") and not is_arabic_name("لاذقیہ")  # Latin, Urdu letters
    assert not is_arabic_name("دیر الزور")  # Persian yeh
    assert not is_arabic_name(" دمشق") and not is_arabic_name("دمشق  حلب")
    assert is_arabic_name("دير الزور") and is_arabic_name("إدلب") and is_arabic_name("حَلَب")
    damascus = ROWS["170654"]["alternatenames"].split("|")
    assert arabic_name(damascus, main="Damascus") == "دمشق"
    homs = ["Homs", "حمص", "مدينة حمص", "Хомс"]
    assert arabic_name(homs, main="Homs") == "حمص"  # "city of Homs" is not the name
    assert arabic_name(["Idlib", "إدلب", "ادلب"], official="إدلب") == "إدلب"
    assert arabic_name(["Paris", "Париж"]) is None


def test_the_russian_rule_takes_russian_letters_only() -> None:
    assert not is_russian_name("Ідліб") and not is_russian_name("Дамаскъ") and not is_russian_name("Хәлеб")
    assert is_russian_name("Дейр-эз-Зор")
    aleppo = ROWS["170063"]["alternatenames"].split("|")
    assert russian_name(aleppo, main="Aleppo") == "Алеппо"
    assert russian_name(ROWS["169577"]["alternatenames"].split("|"), main="Homs") == "Хомс"


def test_no_sample_settlement_gets_a_bad_arabic_name() -> None:
    for raw in ROWS.values():
        done = to_settlement(RawRecord(1, dict(raw)), CTX)
        ar = done.values["name_ar"]  # type: ignore[union-attr]
        assert ar is None or is_arabic_name(ar), (raw["name"], ar)


@pytest.mark.parametrize(("query", "expected"), [
    ("Hims", "Homs"), ("Lattakia", "Latakia"), ("Tadmur", "Tadmur"), ("Palmyra", "Tadmur"),
    ("Deir ez-Zor", "Deir ez-Zor"), ("Dayr az Zawr", "Deir ez-Zor"), ("Deir Ezzor", "Deir ez-Zor"),
    ("ادلب", "Idlib"), ("إدلب", "Idlib"), ("دمشق", "Damascus"), ("Дамаск", "Damascus"),
    ("Ḩimş", "Homs"), ("homs", "Homs"),
])
def test_geocoding_finds_alternate_names(query: str, expected: str) -> None:
    entries = []
    for i, raw in enumerate(ROWS.values()):
        alternates = [a for a in raw["alternatenames"].split("|") if a]
        place = Place(i, raw["name"], float(raw["longitude"]), float(raw["latitude"]),
                      int(raw["population"] or 0))
        entries.append((place, alternates))
    found = Gazetteer.build(entries).candidates(query)
    assert found and found[0].name == expected, (query, [p.name for p in found])
    assert name_key("ادلب") == name_key("إدلب")


def test_the_arabic_rule_refuses_kurdish_and_uyghur_spellings() -> None:
    # GeoNames' alternates for Amman and Tbilisi: Kurdish (a word-initial ئ) and Uyghur (ى
    # inside a word) spellings in Arabic letters beside the Arabic one
    assert not is_arabic_name("ئاممان") and not is_arabic_name("تبىلىسى")
    assert arabic_name(["ئاممان", "عمان", "عمّان"], main="Amman") in ("عمان", "عمّان")
    assert is_arabic_name("مصطفى") and is_arabic_name("أبو ظبي")  # a final ى stays Arabic
