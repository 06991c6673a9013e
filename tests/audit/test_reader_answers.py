"""What the readers of history answer on the sample data stays what it was before versioned
history (migration 15a): the change feeds, a row's history and its state `asof`, the Atom feed,
the alert cursor's head and the per-area incident summaries. The answers were recorded on the code before that
work (`TRUCE_RECORD_READER_ANSWERS=1` rewrites the file); sequence numbers and times are replaced
by their rank or a placeholder, as they differ from one load to the next.

This package's name sorts first, so its tests see the sample as loaded, before other tests
write."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from server.queries import alerts as alert_queries

ANSWERS = Path(__file__).with_name("reader_answers.json")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def _normal(value: Any, seqs: dict[int, int]) -> Any:
    """Times become "<time>"; audit sequence numbers their rank among those seen so far."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in ("seq", "next", "head", "last_seq", "head_seq") and isinstance(v, int):
                out[k] = seqs.setdefault(v, len(seqs))
            else:
                out[k] = _normal(v, seqs)
        return out
    if isinstance(value, list):
        return [_normal(v, seqs) for v in value]
    if isinstance(value, str):
        return TIME.sub("<time>", value)
    return value


def _answers(client: TestClient, engine: Engine, analyst: dict[str, str]) -> dict[str, Any]:
    got: dict[str, Any] = {}
    # agreement areas have large polygons: fewer of them keep the recorded answers small
    for collection, limit in (("incidents", 15), ("agreement_areas", 2), ("aid_deliveries", 15)):
        for who, headers in (("public", {}), ("analyst", analyst)):
            first = client.get(f"/collections/{collection}/changes",
                               params={"limit": limit}, headers=headers).json()
            second = client.get(f"/collections/{collection}/changes",
                                params={"limit": limit, "since": first["next"]},
                                headers=headers).json()
            got[f"changes/{collection}/{who}"] = [first, second]
    with engine.connect() as conn:
        ids = {table: [str(i) for i in conn.execute(text(
            f"SELECT id FROM {table} ORDER BY id LIMIT {n}")).scalars()]  # noqa: S608 - constants
            for table, n in (("incidents", 3), ("agreement_areas", 1), ("aid_deliveries", 3))}
    for table, rows in ids.items():
        for n, row in enumerate(rows):
            url = f"/collections/{table}/items/{row}/history"
            got[f"history/{table}/{n}"] = client.get(url, headers=analyst).json()
            got[f"asof-before/{table}/{n}"] = client.get(
                url, params={"asof": "2000-01-01T00:00:00Z"}, headers=analyst).json()
            got[f"asof-now/{table}/{n}"] = client.get(
                url, params={"asof": "2999-01-01T00:00:00Z"}, headers=analyst).json()
    got["atom/public"] = client.get("/feeds/incidents.atom", params={"limit": 20}).text
    got["atom/analyst"] = client.get("/feeds/incidents.atom", params={"limit": 20},
                                     headers=analyst).text
    got["areas/incidents"] = client.get("/analysis/areas/incidents", headers=analyst).json()
    with Session(engine) as session:
        got["alerts/head"] = alert_queries.head_seq(session=session) > 0
    return got


def test_readers_answer_as_before_on_the_sample(client: TestClient, engine: Engine,
                                                analyst_key: str) -> None:
    analyst = {"Authorization": f"Bearer {analyst_key}"}
    got = json.loads(json.dumps(_normal(_answers(client, engine, analyst), {}), sort_keys=True))
    if os.environ.get("TRUCE_RECORD_READER_ANSWERS") == "1":
        ANSWERS.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(ANSWERS.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(recorded)
    for key in recorded:
        assert got[key] == recorded[key], key
