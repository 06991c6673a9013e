"""Small PMTiles basemap files written for the tests, and the CLI they are served with."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import mapbox_vector_tile
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

TRUCE = [sys.executable, "-m", "cli.main"]


def pmtiles_file(path: Path, tile_type: TileType = TileType.MVT) -> Path:
    """A two-tile PMTiles file: streets and a place around Homs at z14 (or PNG bytes)."""
    if tile_type == TileType.MVT:
        tile = gzip.compress(mapbox_vector_tile.encode([
            {"name": "roads", "features": [{"geometry": "LINESTRING(0 0, 4096 4096)",
                                            "properties": {"name": "Shari' al-Hamra", "kind": "major"}}]},
            {"name": "places", "features": [{"geometry": "POINT(2048 2048)",
                                             "properties": {"name": "Homs", "name:ar": "حمص"}}]},
        ]))
    else:
        tile = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    with path.open("wb") as f:
        writer = Writer(f)
        for z, x, y in sorted([(13, 4931, 3252), (14, 9863, 6504)], key=lambda t: zxy_to_tileid(*t)):
            writer.write_tile(zxy_to_tileid(z, x, y), tile)
        writer.finalize(
            {"tile_type": tile_type, "tile_compression": Compression.GZIP if tile_type == TileType.MVT
             else Compression.NONE, "min_zoom": 13, "max_zoom": 14,
             "min_lon_e7": int(36.6e7), "min_lat_e7": int(34.6e7), "max_lon_e7": int(36.8e7),
             "max_lat_e7": int(34.8e7), "center_zoom": 14, "center_lon_e7": int(36.72e7),
             "center_lat_e7": int(34.73e7)},
            {"attribution": "test extract", "vector_layers": [{"id": "roads"}, {"id": "places"}]})
    return path
