"""retrain.py writes its history next to the export, and the report draws it with a verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import report_projects as rp

from export_helpers import read_manifest
from labelaudit.core.project import Project
from labelaudit.core.report.build import make_report

pytest.importorskip("torch")
pytest.importorskip("matplotlib")
pytestmark = pytest.mark.slow
EPOCHS = 2
QUIET = ("--threads", "1", "--quiet")


def retrain_command(out: Path, epochs: int) -> list[str]:
    """The export's own retrain.py, from outside it, one thread, no per-epoch lines."""
    return [sys.executable, str(out / "retrain.py"), str(out), "--epochs", str(epochs), *QUIET]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An exported project on which the export's own retrain.py ran (CPU, one thread)."""
    base = tmp_path_factory.mktemp("retrained")
    project, out = rp.exported(base)
    project.close()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(
        retrain_command(out, EPOCHS),
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=base,
    )
    assert proc.returncode == 0, proc.stderr
    return base / "project", out


def test_retrain_writes_its_history_next_to_the_export(trained: tuple[Path, Path]) -> None:
    _, out = trained
    history = json.loads((out / "retrain_history.json").read_text(encoding="utf-8"))
    provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert history["format"] == "labelaudit-retrain-history/1"
    assert history["export_created_at"] == provenance["created_at"]  # which export it trained on
    assert [e["epoch"] for e in history["epochs"]] == list(range(1, EPOCHS + 1))
    for entry in history["epochs"]:
        assert entry["train_loss"] > 0 and entry["val_loss"] > 0
        assert 0 <= entry["train_accuracy"] <= 1 and 0 <= entry["val_accuracy"] <= 1
    rows = read_manifest(out)
    train = [r for r in rows if r["split"] == "train"]
    assert sum(history["train_images"].values()) == len(train)
    for split in ("val", "test"):
        final = history["final"][split]
        assert final["images"] == sum(1 for r in rows if r["split"] == split)
        assert set(final["recall"]) == set(rp.COUNTS)


def test_history_goes_where_history_says(trained: tuple[Path, Path], tmp_path: Path) -> None:
    _, out = trained
    target = tmp_path / "h.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [*retrain_command(out, 1), "--history", str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(target.read_text(encoding="utf-8"))["epochs"]) == 1


def test_report_draws_the_learning_curves_with_a_verdict(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, out = trained
    with Project.open(folder) as project:
        result = make_report(project, tmp_path / "report.html")
    text = result.path.read_text(encoding="utf-8")
    assert result.facts.export is not None and result.facts.export.history is not None
    assert "Verdict: " in text and "Rules: underfitting" in text
    assert "<h3>Learning curves</h3>" in text and "<h3>Per-class recall at the end</h3>" in text
    assert f"python {out / 'retrain.py'} {out}" in text
    assert "retrain.py has not run" not in text


def test_a_history_of_an_earlier_export_is_not_shown(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, out = trained
    history = json.loads((out / "retrain_history.json").read_text(encoding="utf-8"))
    history["export_created_at"] = "2000-01-01T00:00:00+00:00"
    stale = out / "retrain_history.json"
    original = stale.read_text(encoding="utf-8")
    stale.write_text(json.dumps(history), encoding="utf-8")
    try:
        with Project.open(folder) as project:
            result = make_report(project, tmp_path / "report.html")
    finally:
        stale.write_text(original, encoding="utf-8")
    text = result.path.read_text(encoding="utf-8")
    assert "belongs to an earlier export" in text and "Verdict: " not in text
