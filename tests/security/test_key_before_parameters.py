"""A presented key is judged before the request's parameters: an unknown key with a bad
parameter is a 401, never the 400 of the parameter (a caller learns nothing about a query it
may not make, and is told first what it must fix first)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

UNKNOWN = "truce_000000000000_" + "x" * 43
ITEMS = "/collections/incidents/items"


@pytest.mark.parametrize(("path", "params"), [
    (ITEMS, {"limit": "0"}),
    (ITEMS, {"limit": "lots"}),
    (ITEMS, {"offset": "-1"}),
    (ITEMS, {"bbox": "1,2,3"}),
    (ITEMS, {"datetime": "yesterday"}),
    (ITEMS, {"crs": "EPSG:1"}),
    (ITEMS, {"resultType": "everything"}),
    (ITEMS, {"f": "docx"}),
    (f"{ITEMS}/1", {"crs": "EPSG:1"}),
    (f"{ITEMS}/1", {"unknown": "1"}),
    ("/collections/incidents/tiles/WebMercatorQuad/-1/0/0", {}),
    ("/collections/incidents/tiles/WebMercatorQuad/3/0/0", {"datetime": "yesterday"}),
    ("/tiles/WebMercatorQuad/3/-1/0", {}),
])
def test_an_unknown_key_is_401_before_a_bad_parameter(
        client: TestClient, path: str, params: dict[str, str]) -> None:
    assert client.get(path, params=params).status_code in (400, 404)  # the parameter is bad
    response = client.get(path, params=params, headers={"X-API-Key": UNKNOWN})
    assert response.status_code == 401, (path, params, response.text[:200])
    assert response.json()["code"] == "unauthorized"
