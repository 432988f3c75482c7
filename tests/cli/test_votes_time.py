"""Vote times: refused when not a sane time on import, and a bad stored time never stops an export
(issue 10, item 5)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from helpers import assert_one_error_line, make_tree, run_cli
from labelaudit.core.consensus.votes import VoteRequest, cast_votes
from labelaudit.core.errors import InputError
from labelaudit.core.project import Project
from labelaudit.core.store.schema import audit_log, votes


def _counts(project_dir: Path) -> tuple[int, int]:
    with Project.open(project_dir) as project, project.store.read() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
            for t in (votes, audit_log)
        )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite project for the refusals (which must leave it unchanged)."""
    base = tmp_path_factory.mktemp("times")
    root = make_tree(base / "images", {"cat": 2, "dog": 1})
    proj = base / "proj"
    run_cli("init", proj, "--images", root, check=True)
    run_cli("annotators", "add", proj, "ann", check=True)
    return proj


BAD_TIMES = (
    "inf",
    "-inf",
    "nan",  # a confusing "NOT NULL constraint failed" before
    "1e300",
    "-1",
    "7258118401",  # one second after 2200-01-01
    "1969-12-31T23:59:59+00:00",
    "9999-12-31",
    "yesterday",
)


def test_a_bad_time_is_refused_naming_the_line(shared_project: Path, tmp_path: Path) -> None:
    before = _counts(shared_project)
    for when in BAD_TIMES:
        source = tmp_path / "bad.csv"
        source.write_text(
            f"annotator,path,label,time\nann,cat/0000.png,cat,\nann,cat/0001.png,dog,{when}\n",
            encoding="utf-8",
        )
        proc = run_cli("votes", "import", shared_project, source)
        assert_one_error_line(proc, contains="line 3: ")
        assert proc.returncode == 2 and when in proc.stderr, proc.stderr
        assert "time" in proc.stderr and "nothing was imported" in proc.stderr
    assert _counts(shared_project) == before
    assert _rows(run_cli("votes", "export", shared_project, check=True).stdout) == []


def test_good_times_round_trip(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"cat": 3, "dog": 1})
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", root, check=True)
    source = tmp_path / "in.csv"
    source.write_text(
        "annotator,path,label,time\n"
        "ann,cat/0000.png,cat,0\n"
        "ann,cat/0001.png,dog,2026-01-02T03:04:05+02:00\n"
        "ann,cat/0002.png,dog,1767225600.25\n"
        "ann,dog/0000.png,dog,2199-12-31\n",
        encoding="utf-8",
    )
    run_cli("votes", "import", proj, source, check=True)
    times = [r["time"] for r in _rows(run_cli("votes", "export", proj, check=True).stdout)]
    assert times == [
        "1970-01-01T00:00:00.000000+00:00",
        "2026-01-02T01:04:05.000000+00:00",
        "2026-01-01T00:00:00.250000+00:00",
        "2199-12-31T00:00:00.000000+00:00",
    ]


def test_core_refuses_a_bad_time_from_any_caller(shared_project: Path) -> None:
    before = _counts(shared_project)
    with Project.open(shared_project) as project:
        image_id = 1
        for when in (float("inf"), float("nan"), 1e300, -5.0):
            request = VoteRequest("ann", image_id, "cat", created_at=when)
            with pytest.raises(InputError, match="time"):
                cast_votes(project.store, [request])
    assert _counts(shared_project) == before


BAD_STORED = (float("inf"), 1e300, -1e300, 1e12)


def test_bad_stored_times_do_not_stop_the_export(tmp_path: Path, backend: str | None) -> None:
    """Every kind of bad stored time at once: one project per backend keeps the test fast."""
    root = make_tree(tmp_path / "images", {"cat": 3, "dog": 3})
    proj = tmp_path / "proj"
    run_cli("init", proj, "--images", root, *(["--db", backend] if backend else []), check=True)
    run_cli("annotators", "add", proj, "ann", check=True)
    paths = [f"{c}/{i:04d}.png" for c in ("cat", "dog") for i in range(3)]
    source = tmp_path / "in.csv"
    source.write_text(
        "annotator,path,label\n" + "".join(f"ann,{p},dog\n" for p in paths), encoding="utf-8"
    )
    run_cli("votes", "import", proj, source, check=True)
    rows = _rows(run_cli("votes", "export", proj, check=True).stdout)
    broken = {rows[i]["vote_id"]: stored for i, stored in zip((1, 2, 4, 5), BAD_STORED)}
    with Project.open(proj) as project:  # what an old version, or a hand edit, may have stored

        def spoil(conn: sa.Connection) -> None:
            for vote_id, stored in broken.items():
                conn.execute(
                    sa.update(votes).where(votes.c.id == vote_id).values(created_at=stored)
                )

        project.store.write(spoil)
    proc = run_cli("votes", "export", proj)
    assert proc.returncode == 0, proc.stderr
    after = _rows(proc.stdout)
    assert [r["vote_id"] for r in after] == [r["vote_id"] for r in rows]
    for old, new in zip(rows, after, strict=True):
        assert new["time"] == ("" if old["vote_id"] in broken else old["time"])
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "4 votes" in warnings[0] and "time" in warnings[0], proc.stderr
    again = tmp_path / "again.csv"  # the export still imports: the votes are already stored
    again.write_text(proc.stdout, encoding="utf-8")
    assert "0 votes added, 6 already stored" in run_cli("votes", "import", proj, again).stdout
