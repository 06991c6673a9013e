"""Real clients follow the keyset `next` links: GDAL's OGC API driver pages through a whole
collection, and OWSLib reads a page at an offset (older clients) and the page its link points to."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.clients


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL is not installed")
def test_ogr2ogr_follows_cursor_links_through_every_page(live_server: str, analyst_key: str,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "all.gpkg"
    done = subprocess.run(
        ["ogr2ogr", "--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {analyst_key}",
         "-oo", "PAGE_SIZE=1000", "-f", "GPKG", str(out), f"OAPIF:{live_server}", "incidents"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    info = subprocess.run(["ogrinfo", "-ro", "-so", str(out), "incidents"], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert "Feature Count: 6155" in info
    with sqlite3.connect(out) as gpkg:  # a GeoPackage is SQLite: no feature came twice
        distinct = gpkg.execute("SELECT count(DISTINCT source || ':' || source_id) "
                                "FROM incidents").fetchone()[0]
    assert distinct == 6155


def test_owslib_offset_page_then_its_next_link(live_server: str, analyst_key: str) -> None:
    from owslib.ogcapi.features import Features

    headers = {"X-API-Key": analyst_key}
    api = Features(live_server, headers=headers)
    page = api.collection_items("incidents", limit=20, offset=40)
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    following = httpx.get(nxt, headers=headers).json()
    everything = httpx.get(f"{live_server}/collections/incidents/items",
                           params={"limit": 100}, headers=headers).json()
    ids = [f["id"] for f in everything["features"]]
    assert [f["id"] for f in page["features"]] == ids[40:60]
    assert [f["id"] for f in following["features"]] == ids[60:80]
