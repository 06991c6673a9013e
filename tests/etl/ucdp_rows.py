"""UCDP GED rows and the state of the incidents they load, for the tests of the set-based load."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

Q_COLS = "record_number, source_id, reasons, raw, detail"


I_COLS = ("source_id, occurred_at, occurred_until, time_precision, reported_at, event_type, "
          "sub_event_type, actor1, actor2, fatalities, fatalities_low, fatalities_high, "
          "geo_precision, location_name, notes, verification_status, sensitivity, "
          "ST_AsEWKT(geom) AS geom")


NOW = datetime(2024, 6, 1, tzinfo=UTC)


HEADER = ("id,type_of_violence,conflict_name,side_a,side_b,where_prec,where_coordinates,latitude,"
          "longitude,event_clarity,date_prec,date_start,date_end,low,best,high,source_headline")


ROWS = [
    "1,1,c,a,b,1,ok town,34.80,36.70,1,1,2016-01-01,2016-01-01,1,2,3,fine",
    ",1,c,a,b,1,no id,34.80,36.70,1,1,2016-01-01,2016-01-01,1,2,3,missing id",
    "3,1,c,a,b,1,same,36.5,36.5,1,1,2016-01-01,,0,0,0,lon equals lat",
    "4,1,c,a,b,1,range,95.0,200.0,1,1,2016-01-01,,0,0,0,out of range",
    "5,2,c,a,b,2,swapped,36.70,34.80,1,2,2016-01-02,2016-01-05,0,1,1,swapped repaired",
    "6,1,c,a,b,1,far,48.85,2.35,1,1,2016-01-01,,0,0,0,outside aoi",
    "7,1,c,a,b,1,text,abc,36.7,1,1,2016-01-01,,0,0,0,unparseable",
    '8,1,c,a,b,1,comma,"34,80","36,70",1,1,2016-01-01,,0,0,0,comma decimals',
    "9,1,c,a,b,1,future,34.8,36.7,1,1,2099-01-01,,0,0,0,future",
    "10,1,c,a,b,1,bad date,34.8,36.7,1,1,2016-02-30,,0,0,0,no such day",
    "11,1,c,a,b,1,dmy,34.8,36.7,2,1,25/12/2016,12/25/2016,0,0,0,day first then month first",
    "12,1,c,a,b,1,neg,34.8,36.7,1,1,2016-01-01,,-1,-2,3,negative counts",
    "13,1,c,a,b,1,nan,34.8,36.7,1,1,2016-01-01,,x,3.7,-0.5,bad and odd counts",
    "14,7,c,a,b,1,vocab,34.8,36.7,1,1,2016-01-01,,0,0,0,unknown violence type",
    "15,1,c,a,b,1,dup first,34.8,36.7,1,1,2016-01-01,,0,0,0,kept",
    "15,1,c,a,b,1,dup second,34.9,36.8,1,1,2016-01-01,,0,0,0,duplicate",
    "16,1,c,a,b,1,rejected first,95,200,1,1,2016-01-01,,0,0,0,rejected so not seen",
    "16,1,c,a,b,1,then ok,34.9,36.8,1,1,2016-01-01,,0,0,0,accepted",
    ",,,,,,,,,,,,,,,,",
    '  17 , 3 ,"c, with comma", a , b ,9, padded ,  34.8 , 36.7 , 2 , 4 , 2016-03-01T10:00:00 ,'
    "2016-03-01, 1 , 1 , 1 , padded",
    "18,1,c,a,b,1,nan,NaN,nan,1,1,2016-01-01,,0,0,0,nan coordinates",
    "19,1,c,a,b,1,inf,inf,36.7,1,1,01 March 2016,,0,0,0,infinite lon",
    "20,1,c,a,b,1,missing,,36.7,1,1,,,0,0,0,missing lat and date",
    "21,1,c,a,b,1,iso z,34.8,36.7,1,1,2016-03-01T10:00:00Z,2016-03-01 11:30,,,,",
]


def loaded_state(engine: Engine, source: str, run_id: int | None) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {I_COLS} FROM incidents WHERE source = :s "  # noqa: S608
                                 "ORDER BY id"), {"s": source}).all()  # ids in file order too
        quarantined = conn.execute(text(f"SELECT {Q_COLS} FROM quarantine "  # noqa: S608
                                        "WHERE etl_run_id = :r ORDER BY record_number"),
                                   {"r": run_id}).all()
    return [tuple(r) for r in rows], [tuple(q) for q in quarantined]
