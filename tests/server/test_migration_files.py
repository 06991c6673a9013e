"""The migration files list in the order they run (server/db/migrations/README.md): `ls` of
versions/ is the chain from the first revision to the one head, so a reader (and a new
migration's author) sees the run order, and a new file that would sort out of place fails
here."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.script import ScriptDirectory

from server.db.migrate import alembic_config

VERSIONS = Path(__file__).resolve().parents[2] / "server" / "db" / "migrations" / "versions"
NAME = re.compile(r"[0-9]{2}[a-z]_[a-z0-9_]+\.py")


def _chain() -> list[str]:
    """The scripts' file names from the first revision to the head, in the order they run."""
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://"))
    heads = scripts.get_heads()
    assert len(heads) == 1, f"the chain forks: heads {heads}"
    walked = [Path(s.path).name for s in scripts.walk_revisions("base", heads[0])]
    return walked[::-1]  # walk_revisions goes from the head down


def test_the_files_list_in_the_order_they_run() -> None:
    listed = sorted(p.name for p in VERSIONS.glob("*.py"))
    assert listed == _chain()


def test_every_file_is_named_by_the_one_scheme() -> None:
    odd = [p.name for p in VERSIONS.glob("*.py") if not NAME.fullmatch(p.name)]
    assert not odd, f"name these NNx_what_it_does.py (server/db/migrations/README.md): {odd}"


def test_a_file_named_as_another_revision_is_that_revision() -> None:
    """A file may keep a revision id other than its name (renamed after it was applied), but
    never the name of another revision: that would send a reader to the wrong script."""
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://"))
    by_id = {s.revision: Path(s.path).stem for s in scripts.walk_revisions()}
    misleading = {stem: rev for rev, stem in by_id.items()
                  if stem in by_id and stem != rev}
    assert not misleading, misleading
