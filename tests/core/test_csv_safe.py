"""CSV cells a spreadsheet cannot run (issue 10, item 10): the escaping rule, and the votes
export -> import round trip kept lossless for any note and name."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import make_tree
from labelaudit.core.consensus.votes_csv import COLUMNS, _read_rows, export_rows, import_votes
from labelaudit.core.consensus.votes_csv import write_csv as write_votes_csv
from labelaudit.core.csv_safe import DANGEROUS, SafeWriter, escape_cell, unescape_cell
from labelaudit.core.project import Project

TRICKY = "=+-@\t\r'\"ab1., \n"
cells = st.text(alphabet=st.sampled_from(TRICKY) | st.characters(blacklist_categories=("Cs",)))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil","click")', '\'=HYPERLINK("http://evil","click")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-cat", "'-cat"),
        ("-inf", "'-inf"),
        ("'=1", "''=1"),  # a cell that genuinely starts with '= keeps it through a round trip
        ("''", "'''"),
        ("'plain", "'plain"),  # a quote before a harmless character is left alone
        ("'", "'"),
        ("-0.5", "-0.5"),  # plain numbers are numbers, never formulas: numeric columns keep them
        ("+3", "+3"),
        ("-1e-05", "-1e-05"),
        ("cat", "cat"),
        ("", ""),
        (-0.5, -0.5),
        (None, None),
    ],
)
def test_escape_cell(value: object, written: object) -> None:
    assert escape_cell(value) == written
    if isinstance(value, str):
        assert unescape_cell(str(written)) == value


@given(cells)
def test_escaping_is_lossless_and_never_starts_a_formula(text: str) -> None:
    written = escape_cell(text)
    assert unescape_cell(written) == text
    if written and written[0] in DANGEROUS:
        float(written)  # only a plain number may start with + or -
    buf = io.StringIO()
    SafeWriter(buf, lineterminator="\n").writerow([text, "x"])
    (row,) = csv.reader(io.StringIO(buf.getvalue(), newline=""))
    assert [unescape_cell(c) for c in row] == [text, "x"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    base = tmp_path_factory.mktemp("roundtrip")
    root = make_tree(base / "images", {"cat": 2, "-dog": 2})
    proj = Project.create(base / "proj", root, db_url=None)
    proj.import_images(workers=1)
    yield proj
    proj.close()


names = st.text(alphabet=st.sampled_from("=+-@'ab é"), min_size=1, max_size=8).map(str.strip)
notes = cells.filter(lambda s: "\x00" not in s).map(str.strip)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(names.filter(bool), notes), min_size=1, max_size=4))
def test_votes_export_import_round_trip(
    project: Project, tmp_path_factory: pytest.TempPathFactory, votes: list[tuple[str, str]]
) -> None:
    folder = tmp_path_factory.mktemp("rt")
    ids = [str(uuid.uuid4()) for _ in votes]
    wanted = [
        {"annotator": name, "path": "-dog/0000.png", "label": "cat", "vote_id": vid, "note": note}
        for (name, note), vid in zip(votes, ids, strict=True)
    ]
    source = folder / "in.csv"
    with open(source, "w", newline="", encoding="utf-8") as fh:
        write_votes_csv(wanted, fh, columns=("annotator", "path", "label", "vote_id", "note"))
    import_votes(project.store, source, image_root=project.image_root)
    exported = [r for r in export_rows(project.store).rows if r["vote_id"] in set(ids)]
    last = {w["annotator"]: i for i, w in enumerate(wanted)}  # the export: current votes only
    assert [(r["annotator"], r["path"], r["note"]) for r in exported] == [
        (w["annotator"], w["path"], w["note"])
        for i, w in enumerate(wanted)
        if last[w["annotator"]] == i
    ]
    again = folder / "out.csv"
    with open(again, "w", newline="", encoding="utf-8") as fh:
        write_votes_csv(exported, fh)
    read_back = [row for _, row in _read_rows(again)]
    assert read_back == [{c: str(r[c]) for c in COLUMNS} for r in exported]


def test_import_strips_only_the_added_quote(project: Project, tmp_path: Path) -> None:
    """A hand-made file: the quote a spreadsheet user typed before a formula goes, others stay."""
    source = tmp_path / "hand.csv"
    ids = [str(uuid.uuid4()) for _ in range(3)]
    source.write_text(
        "annotator,path,label,vote_id,note\n"
        f"'@lead,'-dog/0001.png,cat,{ids[0]},'=1+1\n"
        f"ann,cat/0000.png,cat,{ids[1]},'just a quote\n"
        f"ann,cat/0001.png,cat,{ids[2]},''=kept\n",
        encoding="utf-8",
    )
    import_votes(project.store, source, image_root=project.image_root)
    rows = {r["vote_id"]: r for r in export_rows(project.store).rows}
    assert (rows[ids[0]]["annotator"], rows[ids[0]]["note"]) == ("@lead", "=1+1")
    assert rows[ids[1]]["note"] == "'just a quote"
    assert rows[ids[2]]["note"] == "'=kept"
