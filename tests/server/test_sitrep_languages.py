"""The situation-report map in English, Arabic and Russian: the words come from the viewer's
catalogues (web/static/i18n), so an event type reads as in the viewer's legend and details."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.maps.sitrep import SitrepMap, build_sitrep_map

I18N = Path(__file__).resolve().parents[2] / "web" / "static" / "i18n"
URL = "/reports/areas/4/map.html"  # Ar-Rastan sub-district, status "violated"


def _catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def _incident(event_type: str) -> dict[str, object]:
    return {"type": "Feature", "id": 7,
            "geometry": {"type": "Point", "coordinates": [36.65, 34.75]},
            "properties": {"occurred_at": "2016-03-01T00:00:00+00:00", "event_type": event_type,
                           "verification_status": "confirmed", "fatalities": 1263,
                           "geo_precision": "near", "source": "ucdp_ged", "source_id": "g-1",
                           "location_name": "Talbiseh", "inside": True, "distance_m": 0}}


@pytest.mark.parametrize("lang", ["en", "ar", "ru"])
def test_the_report_speaks_the_viewers_vocabulary(lang: str) -> None:
    words = _catalogue(lang)
    ring = [[36.6, 34.7], [36.7, 34.7], [36.7, 34.8], [36.6, 34.8], [36.6, 34.7]]
    area = {"type": "Feature", "id": 1, "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]},
            "properties": {"id": 1, "name": "Ar-Rastan", "kind": "zone", "status": "violated",
                           "signed_at": "2016-02-26T12:00:00+00:00", "parties": ["A", "B"]}}
    html = build_sitrep_map(SitrepMap(
        area=area, start=datetime(2016, 3, 1, tzinfo=UTC), end=datetime(2016, 3, 31, tzinfo=UTC),
        buffer_m=5000, incidents=[_incident("non_state_violence"), _incident("2")],
        incident_count=2, lang=lang))
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in html
    label = words["vocab.event_type.non_state_violence"]
    # the legend counts both spellings of the type under the one label
    assert html.count(json.dumps(label)[1:-1]) >= 1
    assert words["sitrep.count"].format(label=label, n="2" if lang != "ar" else "٢") in html
    assert words["sitrep.heading"].format(name="Ar-Rastan") in html
    assert words["vocab.status.violated"] in html
    assert words["sitrep.legend_incidents"] in html
    assert "non_state_violence" not in re.sub(r'"event_type": "[^"]*"', "", html)
    if lang != "en":
        english = _catalogue("en")
        assert english["sitrep.legend_incidents"] not in html
        assert english["vocab.event_type.non_state_violence"] not in html


def test_the_route_takes_a_language(client: TestClient) -> None:
    response = client.get(URL, params={"lang": "ar"})
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ar" dir="rtl">' in html
    assert _catalogue("ar")["sitrep.heading"].format(name="Ar-Rastan sub-district") in html
    assert _catalogue("ar")["vocab.status.violated"] in html
    russian = client.get(URL, params={"lang": "ru"}).text
    assert _catalogue("ru")["sitrep.heading"].format(name="Ar-Rastan sub-district") in russian


def test_an_unknown_language_is_400_json(client: TestClient) -> None:
    response = client.get(URL, params={"lang": "fr"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert "lang" in response.json()["description"]
