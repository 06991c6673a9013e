"""The viewer's language catalogues (web/static/i18n/<lang>.json): every language has every key
of the English one, with the same placeholders, and every key the viewer asks for exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

I18N = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"
STATIC = I18N.parent
LANGUAGES = ("en", "ar", "ru")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalogue(lang: str) -> dict[str, str]:
    data = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values())
    return data


@pytest.mark.parametrize("lang", [x for x in LANGUAGES if x != "en"])
def test_every_language_has_every_key(lang: str) -> None:
    english, own = _catalogue("en"), _catalogue(lang)
    missing = sorted(set(english) - set(own))
    assert not missing, f"{lang}.json lacks {len(missing)} keys: {missing}"
    unknown = sorted(set(own) - set(english))
    assert not unknown, f"{lang}.json has keys English lacks: {unknown}"
    wrong = sorted(k for k in english
                   if set(PLACEHOLDER.findall(english[k])) != set(PLACEHOLDER.findall(own[k])))
    assert not wrong, f"{lang}.json: placeholders differ from English in {wrong}"
    untranslated = sorted(k for k in english if own[k].strip() == "")
    assert not untranslated, f"{lang}.json: empty translations {untranslated}"


def _keys_in_code() -> set[str]:
    """Keys named literally in the viewer's code and page: t("key"), data-i18n, data-i18n-attr."""
    keys: set[str] = set()
    for path in [STATIC / "app.js", *sorted((STATIC / "js").glob("*.js"))]:
        keys |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", path.read_text(encoding="utf-8")))
        keys |= set(re.findall(r"""["']((?:draw|check)\.[a-z_]+)["']""",
                               path.read_text(encoding="utf-8")))
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    keys |= set(re.findall(r'data-i18n="([\w.]+)"', page))
    for attrs in re.findall(r'data-i18n-attr="([^"]+)"', page):
        keys |= {pair.split(":")[1].strip() for pair in attrs.split(";")}
    return keys


def test_every_key_the_viewer_uses_is_in_english() -> None:
    english = _catalogue("en")
    families = {f"layer.{x}" for x in ("incidents", "aid_deliveries", "settlements",
                                       "agreement_areas", "admin_areas", "population",
                                       "shaded_relief")}
    families |= {f"admin_level.{n}" for n in range(4)}
    families |= {f"language.{x}" for x in LANGUAGES}
    families |= {f"ring.{m}" for m in ("convoy", "airdrop", "handover")}
    families |= {f"source.{s}" for s in ("shaded_relief", "reference", "events")}
    families |= {f"draw.{m}_title" for m in ("point", "line", "area")}
    missing = sorted((_keys_in_code() | families) - set(english))
    assert not missing, f"keys used by the viewer but missing from en.json: {missing}"


def test_the_vocabulary_covers_every_code_in_the_schema() -> None:
    import importlib

    agreement_areas, aid_deliveries, incidents = (
        importlib.import_module(f"server.db.tables.{name}")
        for name in ("agreement_areas", "aid_deliveries", "incidents"))

    english = _catalogue("en")
    codes = {
        "verification_status": incidents.VERIFICATION_STATUSES,
        "time_precision": incidents.TIME_PRECISIONS,
        "geo_precision": incidents.GEO_PRECISIONS,
        "status": agreement_areas.AREA_STATUSES,
        "kind": agreement_areas.AREA_KINDS,
        "method": aid_deliveries.METHODS,
        "cargo_type": aid_deliveries.CARGO_TYPES,
        "unit": aid_deliveries.UNITS,
    }
    missing = [f"vocab.{field}.{code}" for field, values in codes.items() for code in values
               if f"vocab.{field}.{code}" not in english]
    assert not missing, missing
