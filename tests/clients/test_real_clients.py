"""Real GIS clients against the running server: GDAL's OGC API driver (ogrinfo, ogr2ogr),
OWSLib, and mapbox-vector-tile. If a real client rejects a response, the API is wrong."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest

pytestmark = pytest.mark.clients
needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL is not installed")


@needs_gdal
def test_ogrinfo_lists_every_collection(live_server: str) -> None:
    done = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{live_server}"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for layer in ("incidents", "agreement_areas", "aid_deliveries", "settlements", "admin_areas"):
        assert layer in done.stdout


@needs_gdal
def test_ogrinfo_reads_features_and_count(live_server: str, analyst_key: str) -> None:
    # every incident: as an analyst, the key passed the way a partner passes theirs to GDAL
    done = subprocess.run(["ogrinfo", "-ro", "-so", "--config", "GDAL_HTTP_HEADERS",
                           f"X-API-Key: {analyst_key}",
                           f"OAPIF:{live_server}/collections/incidents",
                           "incidents"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Feature Count: 6155" in done.stdout
    assert "event_type" in done.stdout


@needs_gdal
def test_ogr2ogr_copies_a_filtered_collection_to_geopackage(live_server: str, analyst_key: str,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "confirmed.gpkg"
    done = subprocess.run(  # reported (unreleased) incidents: an analyst's key
        ["ogr2ogr", "--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {analyst_key}",
         "-oo", "PAGE_SIZE=10000", "-f", "GPKG", str(out), f"OAPIF:{live_server}", "incidents",
         "-where", "verification_status = 'reported'"],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    info = subprocess.run(["ogrinfo", "-ro", "-so", str(out), "incidents"], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert "Feature Count: 168" in info


def test_owslib_lists_collections_and_items(live_server: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(live_server)
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"incidents", "agreement_areas"} <= ids
    assert api.conformance()["conformsTo"]
    items = api.collection_items("incidents", limit=7, event_type="non_state_violence")
    assert len(items["features"]) == 7
    assert {f["properties"]["event_type"] for f in items["features"]} == {"non_state_violence"}
    assert api.collection_queryables("incidents")["properties"]


def test_mapbox_vector_tile_decodes_a_served_tile(live_server: str) -> None:
    r = httpx.get(f"{live_server}/collections/incidents/tiles/WebMercatorQuad/6/25/38")
    assert r.status_code == 200
    tile = mapbox_vector_tile.decode(r.content)
    assert sum(f["properties"].get("point_count", 1) for f in tile["incidents"]["features"]) > 0


def test_geopandas_reads_an_items_url(live_server: str) -> None:
    gpd = pytest.importorskip("geopandas")
    frame = gpd.read_file(f"{live_server}/collections/settlements/items?limit=50")
    assert len(frame) == 50 and "name" in frame.columns
