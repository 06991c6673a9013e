"""Vector tiles as partners' tools read them (issue 16): GDAL's MVT driver on a downloaded tile,
and a QGIS-style XYZ source (the TileJSON's URL template with {z}/{x}/{y} filled in the way QGIS
fills it) decoded with mapbox-vector-tile."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest

pytestmark = pytest.mark.clients
needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL is not installed")
ALEPPO = (37.16, 36.2)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@needs_gdal
def test_gdal_mvt_driver_reads_a_served_tile(live_server: str, tmp_path: Path) -> None:
    z = 8
    x, y = _tile_of(*ALEPPO, z)
    r = httpx.get(f"{live_server}/tiles/WebMercatorQuad/{z}/{y}/{x}",
                  params={"collections": "settlements,admin_areas"})
    assert r.status_code == 200
    tile = tmp_path / str(z) / str(x) / f"{y}.pbf"  # GDAL reads z/x/y from the path
    tile.parent.mkdir(parents=True)
    tile.write_bytes(r.content)
    done = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(tile)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Layer name: settlements" in done.stdout and "Layer name: admin_areas" in done.stdout
    counts = [int(n) for n in re.findall(r"Feature Count: (\d+)", done.stdout)]
    assert counts and all(n > 0 for n in counts)
    # the driver places the features where they are: within the tile, in EPSG:3857
    extent = re.search(r"Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)",
                                     done.stdout)
    assert extent
    size = 2 * 20037508.3427892 / 2**z
    minx = -20037508.3427892 + x * size
    assert minx - size <= float(extent.group(1)) <= minx + 2 * size


def test_qgis_style_xyz_template_serves_tiles(live_server: str) -> None:
    tj = httpx.get(f"{live_server}/collections/settlements/tiles.json").json()
    template = tj["tiles"][0]
    assert {"{z}", "{x}", "{y}"} <= {part for part in ("{z}", "{x}", "{y}") if part in template}
    found = 0
    for z in (6, 9, 12):
        x, y = _tile_of(*ALEPPO, z)
        url = template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
        r = httpx.get(url)
        assert r.status_code in (200, 204), (url, r.text)
        if r.status_code == 200:
            layer = mapbox_vector_tile.decode(r.content)["settlements"]
            found += len(layer["features"])
    assert found > 0
    beyond = template.replace("{z}", "3").replace("{x}", "8").replace("{y}", "0")
    assert httpx.get(beyond).status_code == 404
