"""The gazetteer as the API gives it: every governorate capital with its Arabic and Russian names
(the viewer labels, lists and searches places in the chosen language)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from etl.place_names import capitals


@pytest.mark.parametrize("geonames_id", sorted(capitals()))
def test_a_governorate_capital_has_its_three_names(client: TestClient, geonames_id: str) -> None:
    want = capitals()[geonames_id]
    body = client.get("/collections/settlements/items",
                      params={"geonames_id": geonames_id, "limit": 5, "f": "json"}).json()
    names = [(f["properties"]["name_ar"], f["properties"]["name_ru"]) for f in body["features"]]
    assert names == [(want["name_ar"], want["name_ru"])], (want["name_en"], names)
