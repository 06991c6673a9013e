"""Run one job over one file: read -> transform -> load, with quarantine and a run record.

Counts always add up: rows read = loaded + updated + unchanged + quarantined. The data and the
quarantine are written in one transaction, so a failed run leaves the database as it was; the run
row itself is committed apart, so a failure is recorded with its error.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from etl.jobs import Job
from etl.loaders import postgis
from etl.records import Accepted, Context
from etl.sources.tabular import SourceError

DUPLICATE_ID = "duplicate_source_id_in_file"
BATCH = 50_000


@dataclass
class RunSummary:
    run_id: int | None
    status: str
    job: str
    layer: str
    source: str
    path: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    repaired: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run(job: Job, path: Path, engine: Engine, *, source: str | None = None,
        dry_run: bool = False, now: datetime | None = None) -> RunSummary:
    source = source or job.default_source
    ctx = Context(source=source, now=now or datetime.now(UTC))
    summary = RunSummary(None, "running", job.name, job.layer, source, str(path))
    if not dry_run:
        summary.run_id = postgis.start_run(
            engine, job=job.name, layer=job.layer, source=source, source_path=str(path),
            sha256=sha256(path) if path.is_file() else None, options={"format": job.format})
    run_id = summary.run_id or 0
    reasons: Counter[str] = Counter()
    seen: set[tuple[Any, ...]] = set()
    try:
        with engine.begin() as conn:
            accepted: list[dict[str, Any]] = []
            rejected: list[dict[str, Any]] = []

            def flush() -> None:
                if not dry_run:
                    inserted, updated = postgis.upsert(conn, job.spec, accepted, source=source,
                                                       run_id=run_id)
                    summary.loaded += inserted
                    summary.updated += updated
                    summary.unchanged += len(accepted) - inserted - updated
                    postgis.quarantine(conn, rejected, run_id=run_id, layer=job.layer,
                                       source=source, source_path=str(path))
                else:
                    summary.loaded += len(accepted)
                accepted.clear()
                rejected.clear()

            for raw in job.read(path):
                summary.read += 1
                result = job.transform(raw, ctx)
                if isinstance(result, Accepted):
                    key = tuple(result.values.get(k) for k in job.spec.key if k != "source")
                    if key in seen:
                        result_reasons: tuple[str, ...] = (DUPLICATE_ID,)
                    else:
                        seen.add(key)
                        summary.repaired += bool(result.repairs)
                        accepted.append(result.values)
                        result_reasons = ()
                    detail: dict[str, Any] = {"source_id": result.values.get("source_id")}
                else:
                    result_reasons, detail = result.reasons, result.detail
                if result_reasons:
                    reasons.update(result_reasons)
                    summary.quarantined += 1
                    rejected.append({"number": raw.number, "raw": raw.fields,
                                     "reasons": result_reasons, "detail": detail,
                                     "source_id": detail.get("source_id")})
                if len(accepted) >= BATCH:
                    flush()
            flush()
            if not dry_run:
                postgis.resolve_quarantine(conn, layer=job.layer, source=source, run_id=run_id)
        summary.status = "completed"
    except SourceError as exc:
        summary.status, summary.error = "failed", str(exc)
    except Exception as exc:  # the run is recorded as failed, the data rolled back
        summary.status, summary.error = "failed", f"{type(exc).__name__}: {exc}"
    summary.reasons = dict(reasons)
    if summary.status == "failed":
        summary.loaded = summary.updated = summary.unchanged = 0
    if not dry_run and summary.run_id is not None:
        postgis.finish_run(engine, summary.run_id, status=summary.status, error=summary.error,
                           counts={"read": summary.read, "loaded": summary.loaded,
                                   "updated": summary.updated, "unchanged": summary.unchanged,
                                   "quarantined": summary.quarantined})
    return summary
