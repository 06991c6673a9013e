"""Hand-built data for the /analysis/ tests: places far from the sample data (the desert east of
Palmyra), so answers are known exactly. Rows carry source 'test_analysis' and are removed after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

SOURCE = "test_analysis"


def diamond(lon: float, lat: float, r: float = 0.1) -> str:
    """WKT of a diamond around (lon, lat): vertices r degrees east, north, west and south."""
    pts = [(lon + r, lat), (lon, lat + r), (lon - r, lat), (lon, lat - r), (lon + r, lat)]
    return "MULTIPOLYGON(((" + ", ".join(f"{x} {y}" for x, y in pts) + ")))"


def project(engine: Engine, lon: float, lat: float, metres: float,
            azimuth_deg: float) -> tuple[float, float]:
    """The point `metres` from (lon, lat) along `azimuth_deg`, on the spheroid (PostGIS)."""
    with engine.connect() as conn:
        x, y = conn.execute(text(
            "SELECT ST_X(p::geometry), ST_Y(p::geometry) FROM "
            "ST_Project(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :m, radians(:az)) p"),
            {"lon": lon, "lat": lat, "m": metres, "az": azimuth_deg}).one()
    return float(x), float(y)


def add_area(engine: Engine, key: str, wkt: str, **values: Any) -> int:
    row = {"name": key, "kind": "zone", "status": "signed", "signed_at": None,
           "effective_from": None, "effective_to": None, "parties": ["A", "B"], **values}
    with engine.begin() as conn:
        return int(conn.execute(text("""
            INSERT INTO agreement_areas (source, source_id, name, kind, status, signed_at,
                                         effective_from, effective_to, parties, geom)
            VALUES (:source, :key, :name, :kind, :status, :signed_at, :effective_from,
                    :effective_to, :parties, ST_GeomFromText(:wkt, 4326)) RETURNING id"""),
            {"source": SOURCE, "key": key, "wkt": wkt, **row}).scalar_one())


def add_incident(engine: Engine, key: str, lon: float, lat: float, occurred_at: str,
                 **values: Any) -> int:
    row = {"event_type": "state_based_violence", "verification_status": "confirmed",
           "fatalities": 1, **values}
    with engine.begin() as conn:
        return int(conn.execute(text("""
            INSERT INTO incidents (source, source_id, occurred_at, event_type,
                                   verification_status, fatalities, geom)
            VALUES (:source, :key, :occurred_at, :event_type, :verification_status, :fatalities,
                    ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"""),
            {"source": SOURCE, "key": key, "lon": lon, "lat": lat, "occurred_at": occurred_at,
             **row}).scalar_one())


def add_settlement(engine: Engine, key: str, lon: float, lat: float, population: int) -> int:
    with engine.begin() as conn:
        return int(conn.execute(text("""
            INSERT INTO settlements (source, source_id, name, population, geom)
            VALUES (:source, :key, :key, :population, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            RETURNING id"""), {"source": SOURCE, "key": key, "lon": lon, "lat": lat,
                               "population": population}).scalar_one())


def add_delivery(engine: Engine, key: str, lon: float, lat: float, delivered_at: str,
                 **values: Any) -> int:
    row = {"settlement_id": None, "agreement_area_id": None, **values}
    with engine.begin() as conn:
        return int(conn.execute(text("""
            INSERT INTO aid_deliveries (source, source_id, delivered_at, method, cargo_type,
                                        settlement_id, agreement_area_id, geom)
            VALUES (:source, :key, :delivered_at, 'convoy', 'food', :settlement_id,
                    :agreement_area_id, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            RETURNING id"""), {"source": SOURCE, "key": key, "lon": lon, "lat": lat,
                               "delivered_at": delivered_at, **row}).scalar_one())


def set_history(engine: Engine, area_id: int, changes: list[tuple[str, str | None, str]]) -> None:
    """Replace an area's history with (changed_at, previous_status, status) rows."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM agreement_area_history WHERE area_id = :a"), {"a": area_id})
        for changed_at, previous, status in changes:
            conn.execute(text("""
                INSERT INTO agreement_area_history (area_id, changed_at, previous_status, status)
                VALUES (:a, :t, :p, :s)"""), {"a": area_id, "t": changed_at, "p": previous,
                                               "s": status})


def clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("aid_deliveries", "incidents", "agreement_areas", "settlements"):
            conn.execute(text(f"DELETE FROM {table} WHERE source = :s"), {"s": SOURCE})


@contextmanager
def cleaned(engine: Engine) -> Iterator[None]:
    clean(engine)
    try:
        yield
    finally:
        clean(engine)


def get_json(client: Any, url: str, **params: Any) -> Any:
    """GET `url` with `params`, asserting a 200; its JSON."""
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()
