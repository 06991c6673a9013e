"""The target fields a column mapping may name, per layer and format (`truce etl fields`), and
the mapping's check before any row is read: unknown targets, columns the file lacks, date
parts. Each field says its type, its vocabulary (if any), whether a row needs it, and the
other names it is also read from when the mapping does not name it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from etl.transforms import acled, agreement_areas, aid_deliveries, generic, hxl

DATE_PARTS = ("year", "month", "day")


class MappingError(ValueError):
    """A mapping that cannot be used: every problem found, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # text | date | integer | number | vocabulary | list
    required: bool = False
    vocabulary: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # other names it is read from
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["vocabulary"], out["also"] = list(self.vocabulary), list(self.also)
        return out


def _alts(names: tuple[str, ...]) -> tuple[str, ...]:
    return names[1:]


INCIDENTS = (
    Field("source_id", "text", True, also=_alts(generic.SOURCE_ID), note="the row's id"),
    Field("occurred_at", "date", True, also=_alts(generic.OCCURRED),
          note="ISO 8601, d/m/y or m/d/y (decided per file), a year or a year-month; or "
               "{year: COL, month: COL, day: COL}"),
    Field("event_type", "text", True, also=_alts(generic.EVENT_TYPE),
          note="written as a slug (Armed clash -> armed_clash)"),
    Field("lat", "number", True, also=_alts(generic.LAT),
          note="WGS84 degrees; may be empty when location_name is in the gazetteer"),
    Field("lon", "number", True, also=_alts(generic.LON), note="as lat"),
    Field("location_name", "text", also=_alts(generic.PLACE),
          note="geocoded from the gazetteer when lat/lon are empty"),
    Field("admin", "text", also=_alts(generic.ADMIN), note="narrows the gazetteer look-up"),
    Field("fatalities", "integer", also=_alts(generic.KILLED), note="0 or more"),
    Field("sub_event_type", "text"), Field("actor1", "text"), Field("actor2", "text"),
    Field("notes", "text"),
)
AID = (
    Field("source_id", "text", True, also=("id",)),
    Field("delivered_at", "date", True, also=("date",)),
    Field("method", "vocabulary", True, aid_deliveries.METHODS),
    Field("cargo_type", "vocabulary", True, aid_deliveries.CARGO_TYPES),
    Field("unit", "vocabulary", False, aid_deliveries.UNITS),
    Field("quantity", "number", note="0 or more"),
    Field("lat", "number", True, also=("latitude",),
          note="may be empty when location_name is in the gazetteer"),
    Field("lon", "number", True, also=("longitude",), note="as lat"),
    Field("location_name", "text"), Field("admin", "text"),
    Field("organisation", "text", also=("org",)), Field("geonames_id", "integer"),
    Field("agreement_area", "text"), Field("notes", "text"),
)
AREAS = (
    Field("source_id", "text", also=("id",), note="default: the name"),
    Field("name", "text", True),
    Field("kind", "vocabulary", False, agreement_areas.KINDS, note="default region"),
    Field("status", "vocabulary", False, agreement_areas.STATUSES, note="default pending"),
    Field("signed_at", "date"), Field("effective_from", "date"), Field("effective_to", "date"),
    Field("parties", "list", note="a JSON list, or names separated by | or ;"),
    Field("document_ref", "text"), Field("admin_pcode", "text"),
    Field("notes", "text", also=("description",)),
)
AREA_LIST = (
    Field("admin_pcode", "text", also=("pcode",), note="the area is that admin polygon"),
    Field("name", "text", True, also=("settlement",)),
    Field("source_id", "text", also=("id",)),
    Field("status", "vocabulary", False, agreement_areas.STATUSES),
    Field("kind", "vocabulary", False, agreement_areas.KINDS),
    Field("signed_at", "date", also=("date",)),
    Field("lat", "number", also=("latitude",)), Field("lon", "number", also=("longitude",)),
    Field("admin", "text", also=("admin1",)), Field("parties", "list"),
    Field("document_ref", "text"), Field("notes", "text"),
)
SETTLEMENTS = (
    Field("geonameid", "integer", True), Field("name", "text", True),
    Field("latitude", "number", True, also=("lat",)),
    Field("longitude", "number", True, also=("lon",)),
    Field("population", "integer"), Field("alternatenames", "text"),
)
ADMIN_AREAS = (
    Field("ADM0_PCODE .. ADM3_PCODE", "text", True, note="an OCHA COD-AB layer, as published"),
)
UCDP = (
    Field("id", "text", True), Field("date_start", "date", True), Field("date_end", "date"),
    Field("latitude", "number", True), Field("longitude", "number", True),
    Field("type_of_violence", "vocabulary", True, ("1", "2", "3")),
    Field("best", "integer", True), Field("low", "integer"), Field("high", "integer",
                                                                   note="low <= best <= high"),
    Field("date_prec", "vocabulary", False, ("1", "2", "3", "4", "5")),
    Field("where_prec", "vocabulary", False, ("1", "2", "3", "4", "5", "6", "7")),
    Field("event_clarity", "vocabulary", False, ("1", "2")),
    Field("conflict_name", "text"), Field("side_a", "text"), Field("side_b", "text"),
    Field("where_coordinates", "text"), Field("source_headline", "text"),
)
ACLED = (
    Field("event_id_cnty", "text", True, also=("data_id", "event_id")),
    Field("event_date", "date", True), Field("event_type", "text", True),
    Field("latitude", "number", True), Field("longitude", "number", True),
    Field("location", "text"), Field("admin1", "text"), Field("admin2", "text"),
    Field("fatalities", "integer"), Field("timestamp", "integer"),
    Field("geo_precision", "vocabulary", False, tuple(acled.GEO_PRECISION)),
    Field("time_precision", "vocabulary", False, tuple(acled.TIME_PRECISION)),
    Field("sub_event_type", "text"), Field("disorder_type", "text"), Field("actor1", "text"),
    Field("actor2", "text"), Field("notes", "text"), Field("source", "text"),
)


def _tags(names: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> tuple[Field, ...]:
    return tuple(Field(tags[0], "date" if name.endswith("_at") else "hashtag",
                       name in required, also=tags[1:], note=name)
                 for name, tags in names.items())


HXL_INCIDENTS = _tags({"id": hxl.INCIDENT_ID, "event_type": hxl.EVENT_TYPE,
                       "occurred_at": hxl.OCCURRED, "reported_at": hxl.REPORTED,
                       "lat": hxl.LAT, "lon": hxl.LON, "location_name": hxl.PLACE,
                       "admin": hxl.ADMIN, "fatalities": hxl.KILLED,
                       "sub_event_type": hxl.SUB_EVENT, "actor1": hxl.ACTOR1,
                       "actor2": hxl.ACTOR2, "notes": hxl.NOTES},
                      ("event_type", "occurred_at"))
HXL_AID = _tags({"id": hxl.DELIVERY_ID, "delivered_at": hxl.DELIVERED, "method": hxl.METHOD,
                 "sector": hxl.SECTOR, "reached": hxl.REACHED, "lat": hxl.LAT, "lon": hxl.LON,
                 "location_name": hxl.PLACE, "admin": hxl.ADMIN,
                 "organisation": hxl.ORGANISATION, "notes": hxl.ACTIVITY}, ("delivered_at",))

# (layer, format) -> fields; "*": every other format of the layer
FIELDS: dict[tuple[str, str], tuple[Field, ...]] = {
    ("incidents", "*"): INCIDENTS, ("incidents", "ucdp"): UCDP,
    ("incidents", "acled"): ACLED, ("incidents", "hxl"): HXL_INCIDENTS,
    ("aid_deliveries", "*"): AID, ("aid_deliveries", "hxl"): HXL_AID,
    ("agreement_areas", "*"): AREAS, ("agreement_areas", "csv"): AREA_LIST,
    ("settlements", "*"): SETTLEMENTS, ("admin_areas", "*"): ADMIN_AREAS,
}


def fields_of(layer: str, fmt: str) -> tuple[Field, ...]:
    found = FIELDS.get((layer, fmt)) or FIELDS.get((layer, "*"))
    if found is None:
        raise ValueError(f"unknown layer {layer!r}; one of "
                         f"{', '.join(sorted({lay for lay, _ in FIELDS}))}")
    return found


def _known(layer: str, fmt: str) -> dict[str, Field]:
    return {name.lower(): f for f in fields_of(layer, fmt) for name in (f.name, *f.also)}


def check(mapping: dict[str, Any], *, layer: str, fmt: str, columns: list[str] | None,
          where: str = "the file's header") -> list[str]:
    """Every problem of `mapping` for the (layer, format) job over a file whose columns are
    `columns` (a CSV's header, the field names of a vector file's features: `where` says
    which; None: not known before reading, a file the run must judge)."""
    known = _known(layer, fmt)
    hashtags = fmt == "hxl"
    problems: list[str] = []
    header = set(columns or ())
    for target, source in mapping.items():
        field = known.get(target.lower()) if not hashtags else (
            known.get(target.lower()) or (Field(target, "hashtag") if target.startswith("#")
                                          else None))
        if field is None:
            problems.append(f"unknown target {target!r} for {layer} ({fmt}); `truce etl "
                            f"fields --layer {layer}` lists them")
        if isinstance(source, dict):
            if field is not None and field.type != "date":
                problems.append(f"{target}: only a date is built from parts (year, month, day)")
            wrong = [k for k in source if k not in DATE_PARTS]
            if wrong or "year" not in source:
                problems.append(f"{target}: date parts are year (required), month and day; "
                                f"got {', '.join(map(str, source)) or 'none'}")
            if "day" in source and "month" not in source:
                problems.append(f"{target}: a day needs a month")
            names = [str(v) for v in source.values()]
        else:
            names = [source]
        if columns is not None and not hashtags:
            for name in names:
                if name not in header:
                    listed = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
                    problems.append(f"{target}: column {name!r} is not in {where} "
                                    f"({listed or 'none'})")
    return problems
