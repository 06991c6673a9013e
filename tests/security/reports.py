"""A field report submitted through the API, for the tests of what follows from it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.security.conftest import Headers

FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [36.71, 34.73]},
           "properties": {"occurred_at": "2016-03-02T06:30:00Z", "event_type": "shelling",
                          "description": "Mortar rounds hit the market area.",
                          "reporting_party": "Local council of Al-Waer",
                          "contact": "+963-555-0101 (Abu Karim)",
                          "attachments": ["https://example.org/photo1.jpg"]}}


def submit(client: TestClient, auth: Headers, who: str = "reporter", **changes: Any
           ) -> dict[str, Any]:
    feature = {**FEATURE, "properties": {**FEATURE["properties"], **changes}}
    response = client.post("/reports", json=feature, headers=auth(who))
    assert response.status_code == 201, response.text
    return response.json()
