"""ETL load benchmark: the project's incident jobs against `ogr2ogr -f PostgreSQL` (PG_USE_COPY=YES).

`python -m bench etl [--rows N] [--repeat 3] [--format ucdp|acled|geojson|kml] [--profile] [--keep]
[--no-readers]`
generates N synthetic incidents (gaussian clusters around 50 towns inside Syria's outline plus 5%
uniform noise, dates 2016-02-27..2016-12-31) as a UCDP-like or ACLED-like CSV or a GeoJSON
FeatureCollection (the generic incident fields; read in batches, so its peak RSS is the reader's
streaming at work), then loads it into a fresh
database on the local cluster with the project's job (validation, staged upsert, quarantine, audit
log) and with ogr2ogr (plain append into a table with a GiST index), in the same run, and prints
seconds, rows/s, the loader's peak RSS, the idempotent rerun's seconds and the ratio
project / ogr2ogr (target: <= 1.5, moonshot 1.0); for UCDP, then a revised file
changing every tenth row loaded over the loaded one (target: <= 1.0x ogr2ogr).
--profile prints the slowest SQL statements of the last load.
`--format hxl` writes the events as an HXL-tagged CSV (a human header, then the tag row), `--format
csv` as a generic CSV loaded with a column mapping (GENERIC_MAPPING); ogr2ogr loads the same file.
`--format kml` writes the GeoJSON's features as KML Placemarks (ExtendedData), read by the project's
streaming KML reader (its peak RSS the figure to watch; GDAL's LIBKML driver, which ogr2ogr uses,
holds the whole document).
Then (not with --no-readers) the map API's p95 latency for a page of incidents during a first load
and a reload of N rows, next to its idle p95 and the ratio (bench/etl_readers.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ACLED_HEADER = ["event_id_cnty", "event_date", "year", "time_precision", "disorder_type",
                "event_type", "sub_event_type", "actor1", "actor2", "admin1", "location",
                "latitude", "longitude", "geo_precision", "source", "notes", "fatalities",
                "timestamp"]
ACLED_TYPES = ["Battles", "Explosions/Remote violence", "Violence against civilians"]
HEADER = ["id", "type_of_violence", "conflict_name", "side_a", "side_b", "where_prec",
          "where_coordinates", "latitude", "longitude", "event_clarity", "date_prec",
          "date_start", "date_end", "low", "best", "high", "source_headline"]
BBOX = (35.7, 32.3, 42.4, 37.3)
# Syria's outline (the sample's COD-AB admin level 0, simplified, 3 km inside its border): the
# generated events lie in the country, as the loader's area of interest requires
SYRIA = ((35.95, 35.43), (35.77, 35.59), (35.88, 35.74), (35.85, 35.84), (35.99, 35.9),
         (36.0, 35.85), (36.18, 35.79), (36.24, 35.93), (36.4, 35.98), (36.43, 36.2),
         (36.73, 36.24), (36.63, 36.35), (36.58, 36.5), (36.69, 36.81), (36.97, 36.74),
         (37.09, 36.59), (37.48, 36.61), (38.25, 36.88), (38.55, 36.81), (38.72, 36.68),
         (39.23, 36.64), (39.85, 36.73), (40.79, 37.09), (41.56, 37.06), (41.99, 37.13),
         (42.22, 37.28), (42.33, 37.21), (42.35, 37.08), (41.92, 36.69), (41.82, 36.62),
         (41.4, 36.55), (41.27, 36.37), (41.23, 36.05), (41.35, 35.83), (41.36, 35.64),
         (41.25, 35.5), (41.2, 35.25), (41.21, 34.79), (40.99, 34.44), (38.78, 33.4),
         (36.83, 32.35), (36.42, 32.41), (36.22, 32.56), (36.1, 32.55), (35.95, 32.75),
         (35.8, 32.79), (35.67, 32.73), (35.71, 33.24), (35.68, 33.28), (36.08, 33.55),
         (36.08, 33.59), (35.98, 33.66), (36.09, 33.79), (36.41, 33.81), (36.41, 33.85),
         (36.33, 33.92), (36.44, 34.02), (36.54, 34.02), (36.66, 34.2), (36.58, 34.44),
         (36.46, 34.53), (36.41, 34.54), (36.49, 34.62), (36.48, 34.66), (36.32, 34.71),
         (36.26, 34.66), (36.0, 34.67), (35.91, 34.91), (36.0, 35.26), (35.95, 35.43))


def in_syria(lon: float, lat: float) -> bool:
    """Whether (lon, lat) lies inside SYRIA (ray casting)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(SYRIA, SYRIA[1:], strict=False):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _inside(rng: random.Random, draw: Any) -> tuple[float, float]:
    """`draw(rng)` (a lon/lat pair) again until it lies in Syria."""
    while True:
        lon, lat = draw(rng)
        if in_syria(lon, lat):
            return lon, lat
START = date(2016, 2, 27)
DAYS = (date(2016, 12, 31) - START).days + 1
ACTORS = ["Government of Syria", "Syrian insurgents", "IS", "SDF", "Civilians"]
HXL_HEADER = ["Event ID", "Event type", "Date", "Latitude", "Longitude", "Location", "Governorate",
              "Killed", "Perpetrator", "Target", "Notes"]
HXL_TAGS = ["#event+id", "#event+type", "#date+occurred", "#geo+lat", "#geo+lon", "#loc+name",
            "#adm1+name", "#affected+killed", "#org+perpetrator", "#group+targeted", "#description"]
GENERIC_HEADER = ["Ref", "When", "What", "Latitude", "Longitude", "Dead", "Where", "actor1",
                  "actor2", "notes"]
GENERIC_MAPPING = {"source_id": "Ref", "occurred_at": "When", "event_type": "What",
                   "fatalities": "Dead", "location_name": "Where"}


def generate(path: Path, rows: int, seed: int = 7, fmt: str = "ucdp") -> None:
    """Write `rows` synthetic incidents to `path` (deterministic for a seed), as UCDP, ACLED or
    GeoJSON (the UCDP rows as features)."""
    if fmt in ("geojson", "kml"):
        ucdp = path.with_suffix(".csv")
        generate(ucdp, rows, seed)
        (_as_geojson if fmt == "geojson" else _as_kml)(ucdp, path)
        ucdp.unlink()
        return
    rng = random.Random(seed)
    towns = [(*_inside(rng, lambda r: (r.uniform(BBOX[0] + 0.5, BBOX[2] - 0.5),
                                        r.uniform(BBOX[1] + 0.3, BBOX[3] - 0.3))),
              rng.uniform(0.02, 0.25)) for _ in range(50)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow({"acled": ACLED_HEADER, "hxl": HXL_HEADER, "csv": GENERIC_HEADER}.get(
            fmt, HEADER))
        if fmt == "hxl":
            writer.writerow(HXL_TAGS)
        for i in range(rows):
            if rng.random() < 0.05:
                lon, lat = _inside(rng, lambda r: (r.uniform(BBOX[0], BBOX[2]),
                                                   r.uniform(BBOX[1], BBOX[3])))
            else:
                tlon, tlat, sigma = towns[rng.randrange(50)]
                lon, lat = _inside(rng, lambda r, t=tlon, u=tlat, g=sigma: (r.gauss(t, g),
                                                                            r.gauss(u, g)))
            day = (START + timedelta(days=rng.randrange(DAYS))).isoformat()
            best = rng.randrange(0, 12)
            if fmt == "hxl":
                writer.writerow([f"EV{i + 1}", rng.choice(ACLED_TYPES), day, f"{lat:.6f}",
                                 f"{lon:.6f}", f"town {i % 50}", "Aleppo", best,
                                 rng.choice(ACTORS), rng.choice(ACTORS), "synthetic"])
                continue
            if fmt == "csv":
                writer.writerow([f"EV{i + 1}", day, rng.choice(ACLED_TYPES), f"{lat:.6f}",
                                 f"{lon:.6f}", best, f"town {i % 50}", rng.choice(ACTORS),
                                 rng.choice(ACTORS), "synthetic"])
                continue
            if fmt == "acled":
                writer.writerow([
                    f"SYR{i + 1}", day, "2016", rng.choice("1112"), "Political violence",
                    ACLED_TYPES[int(rng.choice("123")) - 1], "Shelling", rng.choice(ACTORS),
                    rng.choice(ACTORS), "Aleppo", f"town {i % 50}", f"{lat:.6f}", f"{lon:.6f}",
                    rng.choice("1112"), "synthetic", "", best, 1618317040 + i % 1000,
                ])
                continue
            writer.writerow([
                i + 1, rng.choice("123"), "Syria: Government", rng.choice(ACTORS),
                rng.choice(ACTORS), rng.choice("1112"), f"town {i % 50}", f"{lat:.6f}",
                f"{lon:.6f}", "1", "1", day, day, best, best, best + rng.randrange(3), "synthetic",
            ])


def _as_geojson(src: Path, dst: Path) -> None:
    """UCDP-like rows as a GeoJSON FeatureCollection of points, one feature a line."""
    kinds = {"1": "State-based conflict", "2": "Non-state conflict", "3": "One-sided violence"}
    with open(src, newline="", encoding="utf-8") as rows, open(dst, "w", encoding="utf-8") as out:
        out.write('{"type": "FeatureCollection", "features": [\n')
        for i, r in enumerate(csv.DictReader(rows)):
            out.write(("," if i else "") + json.dumps({
                "type": "Feature", "geometry": {"type": "Point", "coordinates": [
                    float(r["longitude"]), float(r["latitude"])]},
                "properties": {"source_id": r["id"], "occurred_at": r["date_start"],
                               "event_type": kinds[r["type_of_violence"]],
                               "fatalities": int(r["best"]), "location": r["where_coordinates"]},
            }) + "\n")
        out.write("]}\n")


def _as_kml(src: Path, dst: Path) -> None:
    """UCDP-like rows as a KML document of point Placemarks (the generic incident fields as
    ExtendedData), in two Folders, one Placemark a line."""
    from xml.sax.saxutils import escape

    kinds = {"1": "State-based conflict", "2": "Non-state conflict", "3": "One-sided violence"}
    with open(src, newline="", encoding="utf-8") as rows, open(dst, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/'
                  'kml/2.2"><Document><name>incidents</name><Folder><name>reports</name>\n')
        for r in csv.DictReader(rows):
            data = {"source_id": r["id"], "occurred_at": r["date_start"],
                    "event_type": kinds[r["type_of_violence"]], "fatalities": r["best"],
                    "location": r["where_coordinates"]}
            out.write(f"<Placemark><name>{r['id']}</name><ExtendedData>" + "".join(
                f'<Data name="{k}"><value>{escape(v)}</value></Data>' for k, v in data.items())
                + f"</ExtendedData><Point><coordinates>{float(r['longitude'])},"
                  f"{float(r['latitude'])}</coordinates></Point></Placemark>\n")
        out.write("</Folder></Document></kml>\n")


def _changed(src: Path, dst: Path, every: int = 10) -> int:
    """A copy of UCDP rows `src` whose every `every`-th row reports one more death (best and
    high), as a revised export does; the number of rows changed."""
    changed = 0
    with open(src, newline="", encoding="utf-8") as rows, \
            open(dst, "w", newline="", encoding="utf-8") as out:
        reader = csv.DictReader(rows)
        writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        for i, r in enumerate(reader):
            if i % every == 0:
                r["best"] = str(int(r["best"]) + 1)
                r["high"] = str(max(int(r["high"]), int(r["best"])))
                changed += 1
            writer.writerow(r)
    return changed


def _project_update(url: str, path: Path) -> dict[str, Any]:
    """Load the changed file over the loaded one, once, in a child process; its figures."""
    out = subprocess.run([sys.executable, "-m", "bench.etl_load", url, str(path), "ucdp",
                          "--once"], check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _project_load(url: str, path: Path, fmt: str, profile: bool) -> dict[str, Any]:
    """Load (and reload) in a child process, bench.etl_load (its own peak RSS); its figures."""
    out = subprocess.run([sys.executable, "-m", "bench.etl_load", url, str(path), fmt,
                          *(["--profile"] if profile else [])], check=True,
                         capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _ogr2ogr_load(url: str, path: Path) -> float:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    pg = f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username}"
    if u.password:
        pg += f" password={u.password}"
    env = {**os.environ, "PG_USE_COPY": "YES"}
    t0 = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", pg, str(path), "-nln", "bench_ogr", "-overwrite",
         *([] if path.suffix in (".geojson", ".kml") else [
             "-oo", "X_POSSIBLE_NAMES=longitude", "-oo", "Y_POSSIBLE_NAMES=latitude",
             "-oo", "KEEP_GEOM_COLUMNS=NO"]), "-a_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom",
         "-lco", "SPATIAL_INDEX=GIST", "-nlt", "POINT"],
        check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def _reset(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE quarantine, incidents, etl_runs CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS bench_ogr"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM incidents"))
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench etl", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=("ucdp", "acled", "geojson", "hxl", "csv", "kml"),
                        default="ucdp")
    parser.add_argument("--profile", action="store_true",
                        help="print the slowest SQL statements of the last load")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--no-readers", action="store_true",
                        help="skip the API latency during a load (bench/etl_readers.py)")
    args = parser.parse_args(argv)

    from cli import pgcluster
    from server.db.migrate import upgrade

    if shutil.which("ogr2ogr") is None:
        sys.exit("ogr2ogr is missing: apt-get install gdal-bin")
    server_url = pgcluster.up(pgcluster.default_cluster())
    name = "truce_bench_etl"
    url = pgcluster.create_database(server_url, name, recreate=True)
    upgrade(url)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("incidents." + (args.format if args.format in ("geojson", "kml")
                                            else "csv"))
        t0 = time.perf_counter()
        generate(path, args.rows, fmt=args.format)
        size = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} incidents ({size:.0f} MB) in {time.perf_counter() - t0:.1f}s")
        ours: list[float] = []
        theirs: list[float] = []
        reruns: list[float] = []
        peak = 0.0
        profile: list[list[Any]] = []
        for i in range(args.repeat):
            _reset(url)
            got = _project_load(url, path, args.format, args.profile)
            ours.append(got["seconds"])
            reruns.append(got["rerun"])
            peak = max(peak, got["rss"])
            profile = got["profile"]
            ogr = _ogr2ogr_load(url, path)
            theirs.append(ogr)
            print(f"  run {i + 1}: truce {got['seconds']:.2f}s ({got['loaded']:,} loaded, "
                  f"{got['quarantined']:,} quarantined, path {got['method']}, peak "
                  f"{got['rss']:.0f} MB; rerun {got['rerun']:.2f}s), ogr2ogr {ogr:.2f}s")
        update: dict[str, Any] | None = None
        if args.format == "ucdp":  # the last run's rows are loaded: a revised export over them
            revised = path.with_name("revised.csv")
            changed = _changed(path, revised)
            update = {**_project_update(url, revised), "changed": changed}
            print(f"  update: truce {update['seconds']:.2f}s ({update['updated']:,} updated of "
                  f"{changed:,} changed rows)")
        if not args.no_readers:
            from bench import etl_readers

            reload = path.with_name("reload" + path.suffix)
            generate(reload, args.rows, seed=8, fmt=args.format)  # same ids, other values
            etl_readers.run(url, path, reload, args.format)
    if not args.keep:
        pgcluster.drop_database(server_url, name)
    m_ours, m_theirs = statistics.median(ours), statistics.median(theirs)
    if profile:
        print("slowest statements of the last load (seconds, with their triggers):")
        for seconds, sql in profile:
            print(f"  {seconds:7.2f}  {sql}")
    print(f"\n{args.rows:,} incidents as {args.format}; medians of {args.repeat} runs\n")
    print("| load | seconds | rows/s | note |")
    print("|---|---:|---:|---|")
    print(f"| truce etl load | {m_ours:.2f} | {args.rows / m_ours:,.0f} | peak RSS {peak:.0f} MB |")
    print(f"| truce rerun | {statistics.median(reruns):.2f} | | idempotent: 0 loaded, 0 updated |")
    if update is not None:
        print(f"| truce update of {update['changed']:,} rows | {update['seconds']:.2f} | | "
              f"{update['updated']:,} updated; ratio to ogr2ogr {update['seconds'] / m_theirs:.2f}"
              " (target <= 1.0) |")
    print(f"| ogr2ogr | {m_theirs:.2f} | {args.rows / m_theirs:,.0f} | |")
    print(f"| ratio truce / ogr2ogr | {m_ours / m_theirs:.2f} | | target <= 1.5 |")


if __name__ == "__main__":
    main()
