"""`python -m bench ... --markdown[=PATH]`: what a benchmark printed, kept as a section of
docs/BENCHMARKS.md (or PATH; `-` prints the section instead).

Each benchmark prints its figures while it runs, its tables as markdown tables. With --markdown
the printed text is also kept, and the benchmark's section of the document, between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, is replaced by: the command, when it ran and on
what, then the output (table lines as they are, every other line in a text block). The other
benchmarks' sections stay as they were, so one benchmark can be rerun alone; a section not yet in
the document is added at its end."""

from __future__ import annotations

import io
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "docs" / "BENCHMARKS.md"
FLAG = "--markdown"
HEADER = """# Benchmarks

Figures of `python -m bench`, each section written by `python -m bench NAME --markdown` (the
whole file by `python -m bench --markdown`). Each section says when and on what it was measured;
ratios are measured side by side in the same run, absolute figures depend on the machine and on
what else ran. How each benchmark works: `python -m bench NAME --help` and the module's docstring
in `bench/`.
"""


def split_flag(argv: list[str]) -> tuple[list[str], str | None]:
    """`argv` without the --markdown flag, and where it asks to write (None: not asked)."""
    rest: list[str] = []
    target: str | None = None
    for arg in argv:
        if arg == FLAG:
            target = str(DEFAULT)
        elif arg.startswith(FLAG + "="):
            target = arg.split("=", 1)[1] or str(DEFAULT)
        else:
            rest.append(arg)
    return rest, target


class _Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.kept = out, io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


@contextmanager
def kept_output() -> Iterator[io.StringIO]:
    """Everything printed inside, still printed, and kept in the yielded buffer."""
    tee = _Tee(sys.stdout)
    with redirect_stdout(tee):  # type: ignore[type-var]
        yield tee.kept


@dataclass(frozen=True)
class Run:
    name: str
    argv: list[str]
    where: str
    started: datetime
    finished: datetime
    output: str


def _commit() -> str:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def machine() -> str:
    """What the figures were measured on: cores, load at the start, Python, the commit."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores, load average {load:.2f} at the start, "
            f"Python {platform.python_version()}, commit {_commit()}")


def body(output: str) -> str:
    """Printed text as markdown: table lines as they are, other lines in text blocks."""
    out: list[str] = []
    prose: list[str] = []

    def close() -> None:
        while prose and not prose[-1].strip():
            prose.pop()
        if prose:
            out.extend([*([""] if out and out[-1] else []), "```text", *prose, "```", ""])
        prose.clear()

    for line in output.splitlines():
        if line.lstrip().startswith("|"):
            if prose:
                close()
            if out and out[-1].strip() and not out[-1].lstrip().startswith("|"):
                out.append("")
            out.append(line.strip())
        elif line.strip() or prose:
            if out and out[-1].lstrip().startswith("|"):
                out.append("")
            prose.append(line.rstrip())
    close()
    while out and not out[0].strip():
        out.pop(0)
    return "\n".join(out).strip() + "\n"


def section(run: Run) -> str:
    command = " ".join(["python -m bench", run.name, *run.argv])
    seconds = (run.finished - run.started).total_seconds()
    took = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
    return (f"<!-- bench:{run.name} -->\n## {run.name}\n\n"
            f"`{command}`, {run.started:%Y-%m-%d %H:%M}-{run.finished:%H:%M} UTC "
            f"({took}); {run.where}.\n\n{body(run.output)}<!-- /bench:{run.name} -->\n")


def replace(document: str, name: str, new: str) -> str:
    """`document` with the section of benchmark `name` replaced by `new` (added if absent)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if start in document and end in document:
        head, rest = document.split(start, 1)
        tail = rest.split(end, 1)[1].removeprefix("\n")
        return head + new + tail
    return document.rstrip("\n") + "\n\n" + new


def write(target: str, run: Run) -> None:
    """Replace `run`'s section of the document at `target` (`-`: print it)."""
    text = section(run)
    if target == "-":
        print(text)
        return
    path = Path(target)
    document = path.read_text(encoding="utf-8") if path.exists() else HEADER
    path.write_text(replace(document, run.name, text), encoding="utf-8")
    print(f"wrote the {run.name} figures to {path}", file=sys.stderr)


def measured(name: str, argv: list[str], bench: Callable[[list[str]], None]) -> Run:
    """Run `bench(argv)`, printing as it does, and return what it printed."""
    where, started = machine(), datetime.now(UTC)
    with kept_output() as kept:
        bench(argv)
    return Run(name, argv, where, started, datetime.now(UTC), kept.getvalue())
