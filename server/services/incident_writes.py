"""OGC API - Features Part 4 on incidents: create, replace, update (JSON merge patch), delete.
Rules and transactions; no SQL, no HTTP.

Optimistic concurrency: a feature's entity tag is a hash of its GeoJSON as an analyst reads it
(GET /collections/incidents/items/{id} without parameters sends the same tag). `If-Match` with
another tag is refused (412) before anything is written; `If-Match: *` only asks that the
feature exists. Without `If-Match` a write goes ahead unless the server requires it (428).
Every write names its actor for the audit triggers, so it lands in the hash-chained log, the
change feed and the feature's history like any other write."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db.collections import Collection
from server.errors import (
    ConflictError,
    ForbiddenError,
    InvalidQueryError,
    MethodNotAllowedError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
    UnprocessableError,
)
from server.queries import audit as audit_q
from server.queries import incident_writes as q
from server.queries.features import ItemQuery
from server.schemas.incidents import (
    READ_ONLY,
    WORKFLOW,
    IncidentFeature,
    IncidentFeatureIn,
    IncidentProperties,
    without_read_only,
)
from server.security.principal import Principal
from server.security.release import release_for
from server.services import features

#: collections that accept Part 4 writes
WRITABLE = frozenset({"incidents"})
NEW_STATE = {"verification_status": "reported", "sensitivity": "restricted"}


@dataclass(frozen=True)
class Written:
    id: int
    body: bytes  # the feature as an analyst reads it; b"" after a delete
    etag: str


def writable(collection_id: str) -> Collection:
    c = features.collection(collection_id)
    if c.id not in WRITABLE:
        raise MethodNotAllowedError(f"{c.id} is read-only; Part 4 writes are accepted on: "
                                    f"{', '.join(sorted(WRITABLE))}")
    return c


def etag(body: bytes) -> str:
    """The strong entity tag of a feature's representation."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def _errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    return [{"loc": [prefix, *map(str, e["loc"])] if prefix else list(map(str, e["loc"])),
             "msg": e["msg"]} for e in exc.errors()]


def _unprocessable(errors: list[dict[str, Any]]) -> UnprocessableError:
    where = "; ".join(f"{'.'.join(p for p in e['loc'] if p) or 'body'}: {e['msg']}"
                      for e in errors)
    return UnprocessableError(f"invalid incident feature: {where}", errors=errors)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidQueryError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidQueryError("the body must be a JSON object (a GeoJSON Feature)")
    return body


def parse_feature(raw: bytes) -> IncidentFeature:
    """A GeoJSON Feature body, checked against the incidents schema (400 if not a Feature at
    all, 422 with every problem listed if its content is invalid)."""
    body = _json(raw)
    if body.get("type") != "Feature":
        raise InvalidQueryError('the body must be a GeoJSON Feature ("type": "Feature")')
    body["properties"] = without_read_only(body.get("properties"))
    try:
        return IncidentFeatureIn.model_validate(body)
    except ValidationError as exc:
        raise _unprocessable(_errors(exc)) from None


def _read(c: Collection, feature_id: int, principal: Principal, base_url: str, *,
          session: Session) -> bytes:
    _, body = features.item(c, str(feature_id), ItemQuery(), release_for(principal, c.id),
                            base_url=base_url, session=session)
    return body


def _check_precondition(c: Collection, feature_id: int, principal: Principal,
                        if_match: str | None, require: bool, base_url: str, *,
                        session: Session) -> None:
    """412 unless `if_match` names the feature's current tag (or is *); 428 when required."""
    if if_match is None:
        if require:
            raise PreconditionRequiredError(
                "this server requires If-Match with the feature's ETag (GET it first)")
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return
    current = etag(_read(c, feature_id, principal, base_url, session=session))
    if current not in tags:
        raise PreconditionFailedError(
            f"feature {feature_id} has changed since you read it: its ETag is now {current}; "
            "GET it again and retry", etag=current)


def _check_workflow(props: IncidentProperties, current: dict[str, Any], feature_id: int | None
                    ) -> None:
    for name in WORKFLOW:
        given = getattr(props, name)
        now = current[name]
        if given is not None and given != now:
            where = (f"POST /incidents/{feature_id}/verification" if feature_id
                     else "the verification workflow once it exists")
            raise ConflictError(
                f"{name} is {now!r} and is changed only through {where} (with a reason), not "
                "by a feature write", property=name, current=now)


def _check_pcodes(props: IncidentProperties, *, session: Session) -> None:
    """Given admin pcodes must name admin areas of their level (422 otherwise)."""
    given = {level: code for level in (1, 2, 3)
             if (code := getattr(props, f"admin{level}_pcode")) is not None}
    unknown = q.unknown_pcodes(given, session=session)
    if unknown:
        session.rollback()
        raise _unprocessable([{"loc": ["properties", f"admin{level}_pcode"],
                               "msg": f"{given[level]!r} is not a level {level} admin area"}
                              for level in unknown])


def _check_id(feature: IncidentFeature, feature_id: int | None) -> None:
    if feature.id is None:
        return
    if feature_id is None:
        raise InvalidQueryError("a new feature has no id: the server assigns it")
    if str(feature.id) != str(feature_id):
        raise InvalidQueryError(f"the body's id {feature.id!r} is not the id in the path "
                                f"({feature_id})")


def _ensure_analyst(principal: Principal) -> None:
    if not principal.is_analyst:  # the routes admit analysts only; this guards other callers
        raise ForbiddenError("only analysts and admins write incidents")


def _finish(c: Collection, feature_id: int, principal: Principal, base_url: str, *,
            session: Session) -> Written:
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"the write conflicts with existing data: {exc.orig}".splitlines()[0]
                            ) from None
    body = _read(c, feature_id, principal, base_url, session=session)
    return Written(feature_id, body, etag(body))


def create(collection_id: str, raw: bytes, principal: Principal, *, base_url: str,
           session: Session) -> Written:
    _ensure_analyst(principal)
    c = writable(collection_id)
    feature = parse_feature(raw)
    _check_id(feature, None)
    _check_workflow(feature.properties, NEW_STATE, None)
    _check_pcodes(feature.properties, session=session)
    audit_q.set_actor(principal.actor, session=session)
    lon, lat = feature.geometry.coordinates[:2]
    try:
        new_id = q.insert(feature.properties.columns(), lon, lat, session=session)
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"an incident with source 'api' and source_id "
                            f"{feature.properties.source_id!r} exists already",
                            database=str(exc.orig).splitlines()[0]) from None
    return _finish(c, new_id, principal, base_url, session=session)


def _locked(c: Collection, feature_id: int, *, session: Session) -> dict[str, Any]:
    current = q.lock(feature_id, session=session)
    if current is None:
        session.rollback()
        raise NotFoundError(f"no feature {feature_id} in {c.id}")
    return current


def replace(collection_id: str, feature_id: int, raw: bytes, principal: Principal, *,
            if_match: str | None, require_if_match: bool, base_url: str,
            session: Session) -> Written:
    _ensure_analyst(principal)
    c = writable(collection_id)
    feature = parse_feature(raw)
    _check_id(feature, feature_id)
    current = _locked(c, feature_id, session=session)
    _check_precondition(c, feature_id, principal, if_match, require_if_match, base_url,
                        session=session)
    _check_workflow(feature.properties, current, feature_id)
    return _write(c, feature_id, feature.properties, feature.geometry.coordinates, principal,
                  base_url, session=session)


def _write(c: Collection, feature_id: int, props: IncidentProperties, coords: list[float],
           principal: Principal, base_url: str, *, session: Session) -> Written:
    _check_pcodes(props, session=session)
    audit_q.set_actor(principal.actor, session=session)
    try:
        q.replace(feature_id, props.columns(), coords[0], coords[1], session=session)
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(f"another api incident has source_id {props.source_id!r}",
                            database=str(exc.orig).splitlines()[0]) from None
    return _finish(c, feature_id, principal, base_url, session=session)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def update(collection_id: str, feature_id: int, raw: bytes, principal: Principal, *,
           if_match: str | None, require_if_match: bool, base_url: str,
           session: Session) -> Written:
    """A JSON merge patch (RFC 7396) of the feature: given properties are set, null ones
    cleared, the rest kept; a geometry replaces the point (and, unless given, its admin pcodes
    are those of the areas containing the new point). The result is checked in full."""
    _ensure_analyst(principal)
    c = writable(collection_id)
    patch = _json(raw)
    unknown = sorted(set(patch) - {"type", "id", "geometry", "properties", "links", "bbox"})
    if unknown:
        raise _unprocessable([{"loc": [k], "msg": "not a member of a Feature patch"}
                              for k in unknown])
    if patch.get("type", "Feature") != "Feature":
        raise InvalidQueryError('a patch\'s "type", when given, is "Feature"')
    if patch.get("id") is not None and str(patch["id"]) != str(feature_id):
        raise InvalidQueryError(f"the body's id {patch['id']!r} is not the id in the path "
                                f"({feature_id})")
    if "properties" in patch and not isinstance(patch["properties"], dict):
        raise _unprocessable([{"loc": ["properties"], "msg": "must be an object"}])
    current = _locked(c, feature_id, session=session)
    _check_precondition(c, feature_id, principal, if_match, require_if_match, base_url,
                        session=session)
    props_now = {k: v for k, v in current.items()
                 if k in q.COLUMNS and v is not None}
    props_now.update({k: current[k] for k in WORKFLOW})
    if "geometry" in patch:  # a moved point gets the admin pcodes of where it now is
        given = patch.get("properties") or {}
        for level in (1, 2, 3):
            if f"admin{level}_pcode" not in given:
                props_now.pop(f"admin{level}_pcode", None)
    patched = _merge(props_now, without_read_only(patch.get("properties") or {}))
    for name in READ_ONLY:
        patched.pop(name, None)
    geometry = patch.get("geometry", {"type": "Point", "coordinates": [current["lon"],
                                                                       current["lat"]]})
    try:
        feature = IncidentFeatureIn.model_validate(
            {"type": "Feature", "geometry": geometry, "properties": patched})
    except ValidationError as exc:
        session.rollback()
        raise _unprocessable(_errors(exc)) from None
    _check_workflow(feature.properties, current, feature_id)
    return _write(c, feature_id, feature.properties, feature.geometry.coordinates, principal,
                  base_url, session=session)


def delete(collection_id: str, feature_id: int, principal: Principal, *, if_match: str | None,
           require_if_match: bool, base_url: str, session: Session) -> None:
    """Remove the feature: the audit log keeps its last state, the change feed a tombstone."""
    _ensure_analyst(principal)
    c = writable(collection_id)
    _locked(c, feature_id, session=session)
    _check_precondition(c, feature_id, principal, if_match, require_if_match, base_url,
                        session=session)
    audit_q.set_actor(principal.actor, session=session)
    q.delete(feature_id, session=session)
    session.commit()

