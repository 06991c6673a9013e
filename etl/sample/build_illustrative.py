"""Build the ILLUSTRATIVE agreement areas and aid deliveries shipped as sample data.

No real data set of local truce agreements or geolocated aid deliveries exists offline, so these are
made up, on real geography: agreement areas are real OCHA sub-district and Homs-city neighbourhood
polygons (Homs and Latakia governorates, where the source article says documents were signed first),
with signing dates from late February 2016; deliveries go to real GeoNames settlements inside them.
Every row says `illustrative` in its source. Rerun with `python etl/sample/build_illustrative.py`;
the output is deterministic.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyogrio
import shapely
from shapely.geometry import mapping

HERE = Path(__file__).parent
OUT = HERE / "illustrative"

# (pcode, status, signed day in Feb/Mar 2016 or None, parties)
AREAS: list[tuple[str, str, str | None, list[str]]] = [
    ("N0246", "signed", "2016-02-26", ["Government of Syria", "Local armed opposition of al-Waer"]),
    ("N0268", "signed", "2016-02-27", ["Government of Syria", "Local council of Baba Amr"]),
    ("N0239", "pending", None, ["Government of Syria", "Local council of Khalidiyah"]),
    ("SY040400", "violated", "2016-02-27", ["Government of Syria", "Syrian insurgents"]),
    ("SY040401", "pending", None, ["Government of Syria", "Syrian insurgents"]),
    ("SY040300", "signed", "2016-02-28", ["Government of Syria", "Local council of Tall Kalakh"]),
    ("SY040301", "signed", "2016-02-29", ["Government of Syria", "Local council of Hadideh"]),
    ("SY040109", "signed", "2016-03-01", ["Government of Syria", "Local council of Sadad"]),
    ("SY040104", "pending", None, ["Government of Syria", "Tribal elders of Farqalas"]),
    ("SY060005", "signed", "2016-02-28", ["Government of Syria", "Local council of Kasab"]),
    ("SY060004", "signed", "2016-02-29", ["Government of Syria", "Local council of Qastal Maaf"]),
    ("SY060303", "suspended", "2016-03-02", ["Government of Syria", "Syrian insurgents"]),
    ("SY060302", "signed", "2016-03-03", ["Government of Syria", "Local council of Ein Et-teeneh"]),
    ("SY060301", "pending", None, ["Government of Syria", "Local council of Salanfa"]),
    ("SY060006", "signed", "2016-03-04", ["Government of Syria", "Local council of Hanadi"]),
    ("SY060002", "withdrawn", "2016-02-29", ["Government of Syria", "Syrian insurgents"]),
]
ORGS = ["Syrian Arab Red Crescent", "WFP", "UNICEF", "WHO", "ICRC", "UNHCR", "Coordination centre"]
CARGO_UNITS = {"food": "tonnes", "medical": "kits", "shelter": "kits", "water": "tonnes",
               "nfi": "kits", "mixed": "tonnes"}


def _polygons() -> dict[str, tuple[dict[str, str], shapely.Geometry]]:
    found: dict[str, tuple[dict[str, str], shapely.Geometry]] = {}
    for layer in ("syr_admin3", "city_neighbourhoods"):
        meta, _, geoms, fields = pyogrio.raw.read(HERE / "cod_ab" / f"{layer}.shp")
        names = meta["fields"].tolist()
        for i, wkb in enumerate(geoms):
            record = {name: fields[j][i] for j, name in enumerate(names)}
            found[record["PCODE"]] = (record, shapely.force_2d(shapely.from_wkb(wkb)))
    return found


def _settlements() -> list[dict[str, str]]:
    with open(HERE / "geonames" / "sy_cities500_geonames.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    rng = random.Random(20160227)
    polygons = _polygons()
    places = _settlements()
    features = []
    deliveries = []
    for pcode, status, signed, parties in AREAS:
        record, geom = polygons[pcode]
        kind = "settlement" if pcode.startswith("N") else "region"
        name = record["NAME_EN"] + (" (Homs city)" if kind == "settlement" else " sub-district")
        signed_at = f"{signed}T12:00:00Z" if signed else None
        features.append({
            "type": "Feature",
            "properties": {
                "source_id": f"ILL-AA-{pcode}", "name": name, "kind": kind, "status": status,
                "signed_at": signed_at, "effective_from": "2016-02-27T00:00:00Z" if signed else None,
                "effective_to": None, "parties": parties,
                "document_ref": f"ILLUSTRATIVE/{pcode}/2016" if signed else None,
                "admin_pcode": pcode,
                "notes": "Illustrative agreement area on a real OCHA polygon; not a real agreement.",
            },
            "geometry": mapping(geom),
        })
        if status not in ("signed", "violated", "suspended") or signed is None:
            continue
        inside = [p for p in places
                  if geom.contains(shapely.Point(float(p["longitude"]), float(p["latitude"])))]
        targets = inside or [{"name": record["NAME_EN"], "longitude": str(geom.centroid.x),
                              "latitude": str(geom.centroid.y), "geonameid": ""}]
        start = datetime.fromisoformat(signed).replace(tzinfo=UTC)
        for n in range(rng.randint(4, 10)):
            place = rng.choice(targets)
            cargo = rng.choice(list(CARGO_UNITS))
            when = start + timedelta(days=rng.randint(1, 120), hours=rng.randint(6, 17))
            deliveries.append({
                "source_id": f"ILL-AID-{pcode}-{n + 1:02d}",
                "delivered_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "method": rng.choice(["convoy", "convoy", "handover", "airdrop"]),
                "cargo_type": cargo,
                "quantity": rng.choice([2, 5, 8, 12, 20, 40]) if CARGO_UNITS[cargo] == "tonnes"
                else rng.choice([100, 250, 500, 1000]),
                "unit": CARGO_UNITS[cargo],
                "organisation": rng.choice(ORGS),
                "location_name": place["name"],
                "geonames_id": place["geonameid"],
                "agreement_area": f"ILL-AA-{pcode}",
                "latitude": round(float(place["latitude"]), 6),
                "longitude": round(float(place["longitude"]), 6),
            })
    OUT.mkdir(exist_ok=True)
    with open(OUT / "agreement_areas.geojson", "w", encoding="utf-8") as handle:
        json.dump({"type": "FeatureCollection", "features": features}, handle, ensure_ascii=False)
    with open(OUT / "aid_deliveries.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(deliveries[0]))
        writer.writeheader()
        writer.writerows(deliveries)
    print(f"{len(features)} areas, {len(deliveries)} deliveries written to {OUT}")


if __name__ == "__main__":
    main()
