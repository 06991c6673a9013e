"""`python -m bench ... --markdown`: what a benchmark printed becomes its section of
docs/BENCHMARKS.md, and only its section."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import markdown

PRINTED = """generated 2,000 incidents (0 MB) in 0.1s
  run 1: truce 0.84s

| load | seconds |
|---|---:|
| truce etl load | 0.84 |
ratio 2.81
"""


def _run(output: str = PRINTED) -> markdown.Run:
    return markdown.Run("etl", ["--rows", "2000"], "2 cores, load average 1.00 at the start",
                        datetime(2026, 12, 8, 1, 0, tzinfo=UTC),
                        datetime(2026, 12, 8, 1, 2, tzinfo=UTC), output)


def test_the_flag_is_taken_out_wherever_it_is() -> None:
    assert markdown.split_flag(["etl", "--markdown", "--rows", "9"]) == \
        (["etl", "--rows", "9"], str(markdown.DEFAULT))
    assert markdown.split_flag(["--markdown=-"]) == ([], "-")
    assert markdown.split_flag(["api", "--rows", "9"]) == (["api", "--rows", "9"], None)


def test_tables_stay_tables_and_other_lines_go_in_text_blocks() -> None:
    assert markdown.body(PRINTED) == (
        "```text\ngenerated 2,000 incidents (0 MB) in 0.1s\n  run 1: truce 0.84s\n```\n\n"
        "| load | seconds |\n|---|---:|\n| truce etl load | 0.84 |\n\n"
        "```text\nratio 2.81\n```\n")


def test_a_section_says_what_ran_when_and_on_what() -> None:
    text = markdown.section(_run())
    assert text.startswith("<!-- bench:etl -->\n## etl\n\n`python -m bench etl --rows 2000`, "
                           "2026-12-08 01:00-01:02 UTC (2 min); 2 cores, load average 1.00")
    assert text.endswith("<!-- /bench:etl -->\n")


def test_only_the_benchmarks_own_section_is_replaced(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\nintro\n\n<!-- bench:api -->\nold api\n<!-- /bench:api -->\n\n"
                   "<!-- bench:etl -->\nold etl\n<!-- /bench:etl -->\n\n## Other\nkept\n")
    markdown.write(str(doc), _run())
    text = doc.read_text()
    assert "old etl" not in text and "| truce etl load | 0.84 |" in text
    assert text.startswith("# Benchmarks\n\nintro\n\n<!-- bench:api -->\nold api\n")
    assert text.endswith("<!-- /bench:etl -->\n\n## Other\nkept\n")


def test_a_new_section_is_added_at_the_end(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    markdown.write(str(doc), _run())
    text = doc.read_text()
    assert text.startswith(markdown.HEADER)
    assert text.count("<!-- bench:etl -->") == 1


def test_what_was_printed_is_kept_and_still_printed(capsys: pytest.CaptureFixture[str]) -> None:
    run = markdown.measured("etl", [], lambda argv: print("| a |\n|---|"))
    assert run.output == "| a |\n|---|\n"
    assert capsys.readouterr().out == "| a |\n|---|\n"
