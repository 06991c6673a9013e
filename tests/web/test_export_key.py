"""The viewer's export links in headless Chromium against the real API: without a key they are
plain links (public data only); with a key in the key box a click fetches the export with
X-API-Key and saves it as a download, so an analyst's CSV holds a restricted incident."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.pages import Page

pytestmark = pytest.mark.browser

HASH = "#map=9.00/34.7300/36.7200&t=2016-01-01/2016-12-31"
PLACE = "Export key test place (restricted)"


@pytest.fixture
def restricted(engine: Engine, sample_loaded: list[object]) -> Iterator[int]:
    """A confirmed but restricted incident in the middle of the view; removed afterwards."""
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:export-key', true)"))
        fid = int(conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type, fatalities,
                                   location_name, notes, verification_status, sensitivity, geom)
            VALUES ('report', 'export-key-restricted', '2016-06-01T10:00:00Z',
                    'state_based_violence', 2, :place, 'planted by the export key test',
                    'confirmed', 'restricted', ST_SetSRID(ST_MakePoint(36.72, 34.73), 4326))
            RETURNING id"""), {"place": PLACE}).scalar_one())
    yield fid
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('truce.actor', 'tests:cleanup', true)"))
        conn.execute(text("DELETE FROM incidents WHERE id = :id"), {"id": fid})


def _export_csv(page: Page) -> tuple[str, str, list[tuple[str, dict[str, str]]]]:
    """Click the CSV export; the saved file's name, its text and the export requests made."""
    seen: list[tuple[str, dict[str, str]]] = []
    page.page.on("request", lambda r: seen.append((r.url, r.headers)))
    with page.page.expect_download(timeout=30_000) as info:
        page.page.locator("#export-csv").click()
    download = info.value
    body = Path(download.path()).read_text(encoding="utf-8")
    return download.suggested_filename, body, [(u, h) for u, h in seen if "f=csv" in u]


def test_export_without_a_key_is_public(browser: Any, live_server: str,
                                        restricted: int) -> None:
    page = Page(browser, live_server, HASH)
    page.settle()
    href = page.page.locator("#export-csv").get_attribute("href")
    assert href and "f=csv" in href
    name, body, requests = _export_csv(page)  # a plain link's download: no fetch to record
    assert name == "incidents.csv"
    assert body.startswith("id,") and body.count("\n") > 1  # released incidents in view
    assert PLACE not in body and f"\n{restricted}," not in body
    assert all("x-api-key" not in h for _, h in requests)
    assert not page.errors, page.errors
    page.page.close()


def test_export_with_an_analyst_key_has_restricted_rows(browser: Any, live_server: str,
                                                        analyst_key: str,
                                                        restricted: int) -> None:
    page = Page(browser, live_server, HASH, api_key=analyst_key)
    page.settle()
    name, body, requests = _export_csv(page)
    assert name == "incidents.csv"
    assert body.startswith("id,")
    assert PLACE in body and f"\n{restricted}," in body
    assert requests and all(h.get("x-api-key") == analyst_key for _, h in requests)
    assert all(analyst_key not in u for u, _ in requests)
    assert not page.errors, page.errors
    page.page.close()
