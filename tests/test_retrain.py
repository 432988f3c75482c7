"""The retraining script an export carries: standalone, CPU for one epoch, torchrun with gloo."""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import export, make_project, read_manifest
from helpers import assert_one_error_line, cli_executable, run_cli, write_image
from labelaudit.core.project import Project
from labelaudit.export_assets import retrain

pytestmark = pytest.mark.slow
ASSET = Path(retrain.__file__)
COUNTS = {"cat": 10, "dog": 8, "owl": 6}


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("retrain")
    project = make_project(base, COUNTS)
    out = base / "export"
    export(project, out, splits=(0.6, 0.2, 0.2))
    project.close()
    return out


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A held-out set with true labels: a CSV of path,label relative to its folder."""
    base = tmp_path_factory.mktemp("heldout")
    rows = []
    for k, name in enumerate(COUNTS):
        for i in range(3):
            write_image(base / "imgs" / f"{name}{i}.jpg", seed=9000 + 10 * k + i)
            rows.append((f"imgs/{name}{i}.jpg", name))
    with open(base / "truth.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "label"), *rows])
    return base / "truth.csv"


def _run(args: list[str], *, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_the_script_needs_only_torch_torchvision_and_the_standard_library() -> None:
    tree = ast.parse(ASSET.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"torch", "torchvision", "PIL", "__future__"}
    assert modules <= allowed, modules - allowed


def test_one_epoch_on_cpu_with_a_held_out_set(
    tiny_export: Path, heldout: Path, tmp_path: Path
) -> None:
    # Run the copy inside the export from elsewhere, as a cluster would.
    report, model = tmp_path / "report.json", tmp_path / "model.pt"
    proc = _run(
        [
            sys.executable,
            str(tiny_export / "retrain.py"),
            str(tiny_export),
            "--epochs",
            "1",
            "--eval-manifest",
            str(heldout),
            "--report",
            str(report),
            "--save",
            str(model),
            "--threads",
            "1",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test: accuracy" in proc.stdout and "confusion matrix" in proc.stdout
    result = json.loads(report.read_text())
    manifest = read_manifest(tiny_export)
    for split in ("val", "test"):
        n = sum(1 for r in manifest if r["split"] == split)
        assert result[split]["images"] == n
        assert sum(map(sum, result[split]["confusion"])) == n
    assert result["eval"]["images"] == 9
    assert set(result["eval"]["per_class"]) == set(COUNTS)
    assert 0 <= result["eval"]["macro_accuracy"] <= 1
    assert result["balancing"] == "class_weights"  # as provenance.json says
    assert result["epochs_run"] == 1 and result["images_per_s"] > 0
    import torch

    saved = torch.load(model, weights_only=True)
    assert saved["classes"] == ["cat", "dog", "owl"]


def test_the_dataset_reads_every_suffix_the_exporter_writes(tmp_path: Path) -> None:
    """One image per suffix labelaudit imports (core/paths.py), in lower and upper case: the
    export writes each (a GIF as PNG, suffixes lower-cased) and retrain.py finds and decodes
    every file it wrote, from the class folders and from manifest.csv alike."""
    from PIL import Image

    from labelaudit.core.export.files import CONVERT_TO_PNG
    from labelaudit.core.paths import IMAGE_EXTENSIONS

    pil_format = Image.registered_extensions()
    root, seed = tmp_path / "images", 0
    for cls in ("ant", "bee"):
        for ext in sorted(IMAGE_EXTENSIONS):
            for name in (f"low{ext}", f"UP{ext.upper()}"):
                write_image(root / cls / name, seed=seed, fmt=pil_format[ext])
                seed += 1
    project = Project.create(tmp_path / "project", root)
    project.import_images(workers=1)
    out = tmp_path / "export"
    export(project, out, splits=(0.5, 0.5))
    project.close()
    written = {str(p) for split in ("train", "val") for p in (out / split).rglob("*.*")}
    assert {Path(p).suffix for p in written} == set(IMAGE_EXTENSIONS) - CONVERT_TO_PNG
    assert len(written) == 2 * 2 * len(IMAGE_EXTENSIONS)  # nothing was left out
    classes = retrain.read_classes(out)
    found = retrain.load_splits(out, classes)
    assert {p for rows in found.values() for p, _ in rows} == written
    listed = retrain.manifest_samples(out / "manifest.csv", classes, split=None, aliases={})
    assert {os.path.normpath(p) for p, _ in listed} == written
    for path in sorted(written):
        assert tuple(retrain.decode(path, 8).shape) == (3, 8, 8)


def test_labelaudit_retrain_and_scripts_retrain(tiny_export: Path, tmp_path: Path) -> None:
    proc = run_cli("retrain", tiny_export, "--epochs", "1", "--quiet", "--no-augment")
    assert proc.returncode == 0, proc.stderr
    assert "test: accuracy" in proc.stdout
    assert_one_error_line(run_cli("retrain", tmp_path / "nothing"), contains="no export folder")
    script = Path(__file__).resolve().parents[1] / "scripts" / "retrain.py"
    proc = _run([sys.executable, str(script), "--help"], cwd=tmp_path)
    assert proc.returncode == 0 and "--eval-manifest" in proc.stdout


def test_bad_input_is_one_line(tiny_export: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nx.png,zebra\n")
    proc = _run(
        [sys.executable, str(ASSET), str(tiny_export), "--eval-manifest", str(bad)], cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown label 'zebra'" in proc.stderr
    bad.write_text("file,label\nx.png,a\n")
    proc = _run(
        [sys.executable, str(ASSET), str(tiny_export), "--eval-manifest", str(bad)], cwd=tmp_path
    )
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "needs the columns path and label (missing: path)" in proc.stderr
    proc = _run(
        [
            sys.executable,
            str(ASSET),
            str(tiny_export),
            "--pretrained",
            "--model",
            "resnet18",
            "--epochs",
            "1",
        ],
        cwd=tmp_path,
    )
    if proc.returncode != 0:  # weights not in the cache here: said in one line, no download
        assert "never downloads" in proc.stderr and "Traceback" not in proc.stderr


def _torchrun(export_dir: Path, shards: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    torchrun = Path(sys.executable).parent / "torchrun"
    launcher = (
        [str(torchrun)] if torchrun.exists() else [sys.executable, "-m", "torch.distributed.run"]
    )
    return _run(
        [
            *launcher,
            "--standalone",
            f"--log-dir={shards.parent / 'torchrun-logs'}",  # not a torchelastic_* in /tmp
            "--nproc_per_node=2",
            str(export_dir / "retrain.py"),
            str(export_dir),
            "--dump-shards",
            str(shards),
            "--quiet",
            "--threads",
            "1",
            *extra,
        ],
        cwd=shards.parent,
        timeout=400,
    )


def _shards(folder: Path, prefix: str = "shard") -> list[dict]:
    return [json.loads((folder / f"{prefix}_rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.skipif(sys.platform == "win32", reason="gloo on CPU is tested on Linux")
def test_torchrun_two_processes_disjoint_shards_and_a_clean_stop(
    tiny_export: Path, tmp_path: Path
) -> None:
    shards = tmp_path / "shards"
    report = tmp_path / "report.json"
    # lr 0: the validation score cannot improve, so patience 1 stops early, on both ranks.
    proc = _torchrun(
        tiny_export,
        shards,
        "--epochs",
        "4",
        "--patience",
        "1",
        "--lr",
        "0",
        "--report",
        str(report),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = _shards(shards)
    n_train = sum(1 for r in read_manifest(tiny_export) if r["split"] == "train")
    assert a["order"] == b["order"]  # both ranks cut one shared permutation
    assert a["train_indices"] == a["order"][0::2] and b["train_indices"] == b["order"][1::2]
    assert len(a["train_indices"]) == len(b["train_indices"]) == n_train // 2
    assert set(a["train_indices"]).isdisjoint(b["train_indices"])
    n_val = sum(1 for r in read_manifest(tiny_export) if r["split"] == "val")
    assert sorted(a["eval_indices"] + b["eval_indices"]) == list(range(n_val))  # no padding
    stops = _shards(shards, "stop")
    assert stops[0]["epochs_run"] == stops[1]["epochs_run"] < 4
    result = json.loads(report.read_text())
    assert result["world_size"] == 2
    assert result["test"]["images"] == sum(
        1 for r in read_manifest(tiny_export) if r["split"] == "test"
    )
    assert proc.stdout.count("best epoch") == 1  # rank 0 reports

    shards2 = tmp_path / "weighted"
    proc = _torchrun(tiny_export, shards2, "--epochs", "1", "--balancing", "sampler")
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = _shards(shards2)
    assert a["order"] == b["order"]  # one weighted draw shared by the ranks
    assert len(a["order"]) == 2 * -(-n_train // 2)
    assert set(a["train_positions"]).isdisjoint(b["train_positions"])
    assert sorted(a["train_positions"] + b["train_positions"]) == list(range(len(a["order"])))
    assert a["train_indices"] == [a["order"][p] for p in a["train_positions"]]
    assert b["train_indices"] == [b["order"][p] for p in b["train_positions"]]


@pytest.mark.skipif(sys.platform == "win32", reason="gloo on CPU is tested on Linux")
def test_one_failing_rank_ends_the_torchrun_run_instead_of_hanging_the_others(
    tiny_export: Path, tmp_path: Path
) -> None:
    """Rank 1 cannot read its share of the validation images (every world-th image, from 1);
    rank 0 waits for it in the next all-reduce. The failing rank must leave without a barrier
    (which rank 0 would never reach), so that torchrun ends the run with its error."""
    broken = tmp_path / "export"
    shutil.copytree(tiny_export, broken)
    classes = retrain.read_classes(broken)
    val = retrain.folder_samples(broken, "val", classes)
    Path(val[1][0]).write_bytes(b"not an image")
    try:
        proc = _run(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--standalone",
                f"--log-dir={tmp_path / 'torchrun-logs'}",
                "--nproc_per_node=2",
                str(broken / "retrain.py"),
                str(broken),
                "--epochs",
                "2",
                "--cache",
                "off",
                "--workers",
                "0",
                "--threads",
                "1",
                "--quiet",
            ],
            cwd=tmp_path,
            timeout=150,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the other rank hung after one rank failed")
    assert proc.returncode != 0
    assert "cannot read image" in proc.stderr and "not an image" not in proc.stdout


def test_manifest_only_export_trains_too(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"x": 6, "y": 6})
    out = tmp_path / "csvonly"
    export(project, out, formats=("csv",))
    project.close()
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)
    proc = _run(
        [
            sys.executable,
            str(moved / "retrain.py"),
            str(moved),
            "--epochs",
            "1",
            "--quiet",
            "--threads",
            "1",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test: accuracy" in proc.stdout


def test_without_val_and_test_it_says_so_and_succeeds(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"a": 1, "b": 1})
    out = tmp_path / "tiny"
    result = export(project, out)
    project.close()
    assert result.counts["after"]["val"] == {"a": 0, "b": 0}
    assert any("the val split is empty" in w for w in result.warnings)
    proc = _run(
        [sys.executable, str(out / "retrain.py"), str(out), "--epochs", "1", "--threads", "1"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no val split to select on, so the last epoch (1 of 1) is kept" in proc.stdout
    assert "no test split to score: no test accuracy" in proc.stdout
    assert "best epoch" not in proc.stdout


def test_threads_below_one_are_refused_in_one_line(tiny_export: Path, tmp_path: Path) -> None:
    for value in ("0", "-2"):
        proc = _run(
            [sys.executable, str(ASSET), str(tiny_export), "--threads", value], cwd=tmp_path
        )
        assert proc.returncode == 2
        assert proc.stderr.strip() == "retrain: error: --threads must be at least 1"
    proc = run_cli("retrain", tiny_export, "--threads", "0")
    assert_one_error_line(proc, contains="--threads must be at least 1")


def _interrupt_mid_training(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Start a long training, press Ctrl-C (SIGINT) once the first epoch is reported."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith("epoch 1/"):
                proc.send_signal(signal.SIGINT)
                break
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT is POSIX")
def test_ctrl_c_says_where_it_stopped_and_that_no_model_was_saved(
    tiny_export: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.pt"
    args = [str(tiny_export), "--epochs", "5000", "--patience", "0", "--threads", "1"]
    args += ["--save", str(model), "--no-augment"]
    proc = _interrupt_mid_training([sys.executable, str(ASSET), *args], tmp_path)
    assert proc.returncode == 130, proc.stderr
    assert re.fullmatch(
        rf"retrain: interrupted at epoch \d+ of 5000; {re.escape(str(model))} not written",
        proc.stderr.strip(),
    ), proc.stderr
    assert not model.exists() and list(tmp_path.glob(".model.pt*")) == []
    proc = _interrupt_mid_training([cli_executable(), "retrain", *args[:-3]], tmp_path)
    assert proc.returncode == 130
    line = proc.stderr.strip()
    assert "project" not in line and "\n" not in line
    assert re.search(r"interrupted at epoch \d+ of 5000; no model saved \(no --save\)$", line)
