"""Encodings judged from the whole file: Latin-1 past the first 64 KB, UTF-16, cp1256 Arabic
(detected and loaded as written; refused when forced to a Latin code page), one bad row
quarantined as `encoding_error` at its own line, and a file no one encoding reads failing with
the line and the advice. The set-based path and the row-wise path agree on each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from etl.jobs import find_job
from etl.runner import RunSummary, run
from tests.etl.ucdp_rows import HEADER, NOW, ROWS, loaded_state

ARABIC_PLACE = "\u062d\u0644\u0628 \u0627\u0644\u0634\u0647\u0628\u0627\u0621"  # Aleppo ...
ARABIC_NOTE = "\u0642\u0635\u0641 \u0645\u062f\u0641\u0639\u064a \u0639\u0644\u0649 \u0627\u0644\u062d\u064a"


def _row(n: int, place: str = "town", note: str = "fine") -> str:
    """A good row, each on its own day (rows alike would all be cross-source duplicates)."""
    day = date(2000, 1, 1) + timedelta(days=n)
    return f"{n},1,c,a,b,1,{place},34.80,36.70,1,1,{day},,1,2,3,{note}"


def _run(engine: Engine, path: Path, source: str, **kwargs: object) -> RunSummary:
    return run(find_job("incidents", "ucdp", path), path, engine, source=source, now=NOW,
               **kwargs)  # type: ignore[arg-type]


def _both(engine: Engine, path: Path, *, method: str = "copy", encoding: str | None = None
          ) -> RunSummary:
    options = {"encoding": encoding} if encoding else None
    ref = _run(engine, path, "etlt_enc_rows", row_wise=True, options=options)
    fast = _run(engine, path, "etlt_enc_copy", options=options)
    assert ref.status == fast.status == "completed", (ref.error, fast.error)
    assert (ref.method, fast.method) == ("rows", method)
    for name in ("read", "loaded", "quarantined", "reasons"):
        assert getattr(fast, name) == getattr(ref, name), name
    assert loaded_state(engine, "etlt_enc_copy", fast.run_id) == loaded_state(engine, "etlt_enc_rows",
                                                                  ref.run_id)
    return fast


def _notes(engine: Engine, source: str) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT source_id, coalesce(location_name, '') || '|' || coalesce(notes, '') "
            "FROM incidents WHERE source = :s"), {"s": source}).tuples().all())


def test_a_latin1_accent_past_the_first_64_kb_loads_on_both_paths(engine: Engine,
                                                                    tmp_path: Path) -> None:
    rows = [_row(n) for n in range(1, 5400)]
    body = "\n".join([HEADER, *rows]).encode("ascii")
    assert len(body) > 312_771
    path = tmp_path / "late_accent.csv"
    path.write_bytes(body + b"\n" + _row(5401, "Caf\u00e9", "livr\u00e9 \u00e0 Homs"
                                                ).encode("latin-1") + b"\n")
    fast = _both(engine, path)
    assert fast.loaded == 5400
    assert _notes(engine, "etlt_enc_copy")["5401"] == "Caf\u00e9|livr\u00e9 \u00e0 Homs"


def test_cp1252_quotes_load_as_written(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes("\n".join([HEADER, _row(1, "Ma\u2019arrat", "\u201cquoted\u201d \u20ac"),
                                ""]).encode("cp1252"))
    _both(engine, path)
    assert _notes(engine, "etlt_enc_copy")["1"] == "Ma\u2019arrat|\u201cquoted\u201d \u20ac"


def test_utf16_with_bom_loads(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes("\n".join([HEADER, _row(1, ARABIC_PLACE, ARABIC_NOTE), ROWS[3], ""]
                               ).encode("utf-16"))
    assert find_job("incidents", "auto", path).format == "ucdp"  # told from its UTF-16 header
    fast = _both(engine, path, method="rows")  # PostgreSQL's COPY takes no UTF-16
    assert (fast.loaded, fast.quarantined) == (1, 1)
    assert _notes(engine, "etlt_enc_copy")["1"] == f"{ARABIC_PLACE}|{ARABIC_NOTE}"
    with engine.connect() as conn:
        line = conn.execute(text("SELECT record_number FROM quarantine WHERE etl_run_id = :r"),
                            {"r": fast.run_id}).scalar_one()
    assert line == 3


def test_arabic_in_cp1256_is_refused_as_latin1_and_loads_as_written(engine: Engine,
                                                                     tmp_path: Path) -> None:
    """Detected as Windows Arabic (its words read as Latin-1 are runs of accented capitals), or
    given as --encoding cp1256, it loads as written; forced to a Latin code page it is refused
    naming --encoding cp1256, never stored garbled."""
    path = tmp_path / "arabic_windows.csv"
    path.write_bytes("\r\n".join([HEADER, *[_row(n, ARABIC_PLACE, ARABIC_NOTE) for n in (1, 2)],
                                  _row(3, "Homs", "plain"), ""]).encode("cp1256"))
    for encoding in ("latin-1", "cp1252"):
        failed = _run(engine, path, "etlt_enc_guess",
                      options={"encoding": encoding} if encoding else None)
        assert failed.status == "failed" and "--encoding cp1256" in (failed.error or ""), (
            encoding, failed.error)
        assert failed.loaded == 0
    assert _notes(engine, "etlt_enc_guess") == {}  # nothing stored garbled
    for encoding in (None, "cp1256"):
        _both(engine, path, encoding=encoding)
        assert _notes(engine, "etlt_enc_copy")["1"] == f"{ARABIC_PLACE}|{ARABIC_NOTE}"


def test_a_french_latin1_file_is_not_taken_for_arabic(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "french.csv"
    path.write_bytes("\n".join([HEADER, _row(1, "\u00c9cole", "d\u00e9j\u00e0 \u00e9t\u00e9 "
                                                             "\u00e0 l'\u00e9cole"), ""]
                               ).encode("latin-1"))
    assert _both(engine, path).loaded == 1


def test_one_undecodable_row_and_one_nul_row_are_quarantined_at_their_lines(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "one_bad.csv"
    lines = [HEADER.encode(), _row(1, ARABIC_PLACE).encode(),
             _row(2, "bad").encode() + b"\xff\xfe",
             b'3,1,c,a,b,1,"two\nlines",34.8,36.7,1,1,2016-01-01,,0,0,0,x',
             _row(4, "nul").encode().replace(b"nul", b"n\x00l"), _row(5).encode(), b""]
    path.write_bytes(b"\n".join(lines))
    fast = _both(engine, path, method="rows")
    assert (fast.read, fast.loaded, fast.quarantined) == (5, 3, 2)
    assert fast.reasons == {"encoding_error": 2}
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT record_number, reasons, detail->>'encoding', raw->>'id' FROM quarantine "
            "WHERE etl_run_id = :r ORDER BY record_number"), {"r": fast.run_id}).all()
    assert [tuple(r) for r in rows] == [(3, ["encoding_error"], "utf-8", "2"),
                                        (6, ["encoding_error"], "utf-8", "4")]


def test_a_file_no_encoding_reads_fails_with_the_line_and_the_advice(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    rows = [_row(n, ARABIC_PLACE).encode() if n % 2 else
            _row(n, "Caf\u00e9").encode("latin-1") for n in range(1, 40)]
    path.write_bytes(b"\n".join([HEADER.encode(), *rows, b""]))
    summary = _run(engine, path, "etlt_enc_mixed")
    assert summary.status == "failed"
    assert "line 3 " in (summary.error or "") and "--encoding" in (summary.error or "")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("\n".join([HEADER, *[_row(n, "Caf\u00e9") for n in range(1, 20)], ""]
                                ).encode("latin-1"))
    summary = _run(engine, latin, "etlt_enc_forced", options={"encoding": "utf-8"})
    assert summary.status == "failed" and "line 2 is not valid utf-8" in (summary.error or "")


def test_encoding_option_on_the_command_line(database_url: str, engine: Engine,
                                             sample_loaded: list, tmp_path: Path) -> None:
    path = tmp_path / "arabic.csv"
    path.write_bytes("\n".join([HEADER, _row(1, ARABIC_PLACE, ARABIC_NOTE), ""]).encode("cp1256"))

    def load(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "etl", "load", str(path), "--layer", "incidents",
             "--format", "ucdp", "--source", "etlt_enc_cli", "--no-alerts", "--json", *extra],
            capture_output=True, text=True, timeout=180,
            env={**os.environ, "TRUCE_DATABASE_URL": database_url})

    unknown = load("--encoding", "klingon")
    assert unknown.returncode == 2 and "--encoding 'klingon'" in json.loads(unknown.stdout)["error"]
    wrong = load("--encoding", "latin-1")
    assert wrong.returncode == 1 and "--encoding cp1256" in json.loads(wrong.stdout)["error"]
    done = load("--encoding", "cp1256")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["loaded"] == 1
    assert _notes(engine, "etlt_enc_cli")["1"] == f"{ARABIC_PLACE}|{ARABIC_NOTE}"
