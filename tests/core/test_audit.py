"""The cleanlab audit: label issues, dataset-level findings, similarity, BYO input, scan rows."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from helpers import make_tree, write_image
from labelaudit.core.audit import inputs
from labelaudit.core.audit.analyze import AuditOptions, audit_predictions
from labelaudit.core.audit.label_issues import FILTER_METHODS
from labelaudit.core.audit.similarity import find_similarity_issues, group_components
from labelaudit.core.codes import Issue
from labelaudit.core.dataset.catalog import load_catalog
from labelaudit.core.errors import Cancelled, InputError
from labelaudit.core.progress import CancelToken, RecordingProgress, StepState
from labelaudit.core.project import Project
from labelaudit.core.scan.api import ScanConfig
from labelaudit.core.store.arrays import array_names, get_array
from labelaudit.core.store.auditlog import os_identity
from labelaudit.core.store.scan_results import load_results
from labelaudit.core.store.schema import scans
from labelaudit.core.usecases import scan_rows
from labelaudit.core.usecases.scan import ScanRequest, run_scan
from labelaudit.core.views.findings import findings, headline
from labelaudit.core.views.staleness import scan_staleness

NAMES = ["ant", "bee", "cow", "dog"]


def noisy_problem(
    n_per_class: tuple[int, ...] = (100, 100, 100, 100), *, seed: int = 0
) -> SimpleNamespace:
    """Given labels with planted flips (0 <-> 1 pairs, plus a few uniform) and pred_probs from a
    model that knows the truth (~90% confident), in cleanlab's vocabulary."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(n_per_class)), n_per_class)
    n, k = truth.size, len(n_per_class)
    given = truth.copy()
    pair = rng.choice(np.flatnonzero(truth <= 1), size=n // 10, replace=False)
    given[pair] = 1 - truth[pair]
    rest = rng.choice(np.setdiff1d(np.arange(n), pair), size=n // 40, replace=False)
    given[rest] = (truth[rest] + rng.integers(1, k, rest.size)) % k
    pred_probs = 0.25 * rng.dirichlet(np.ones(k), n)
    pred_probs[np.arange(n), truth] += 0.75
    flipped = np.zeros(n, dtype=bool)
    flipped[pair] = flipped[rest] = True
    return SimpleNamespace(
        labels=given, truth=truth, pred_probs=pred_probs.astype(np.float32), flipped=flipped
    )


def run_audit(problem: SimpleNamespace, **options: object) -> object:
    n = problem.labels.size
    return audit_predictions(
        problem.labels,
        problem.pred_probs,
        image_ids=np.arange(1, n + 1),
        class_names=NAMES[: problem.pred_probs.shape[1]],
        options=AuditOptions(**options),  # type: ignore[arg-type]
    )


def test_planted_flips_are_flagged_and_the_pair_overlaps() -> None:
    problem = noisy_problem()
    result = run_audit(problem)
    arrays = result.arrays
    issues = arrays["is_label_issue"]
    recall = (issues & problem.flipped).sum() / problem.flipped.sum()
    precision = (issues & problem.flipped).sum() / issues.sum()
    assert recall >= 0.9 and precision >= 0.9, (recall, precision)
    assert arrays["suggested"].dtype == np.int64 and arrays["label_quality"].dtype == np.float32
    assert np.array_equal(arrays["suggested"][issues], problem.truth[issues])
    assert arrays["label_quality"][issues].max() < np.median(arrays["label_quality"])
    assert np.array_equal(arrays["issue_flags"] & Issue.LABEL > 0, issues)
    summary = result.summary
    assert summary["label_issues"]["flagged"] == int(issues.sum())
    assert abs(summary["label_issues"]["estimated"] - problem.flipped.sum()) <= 10
    assert 0.8 < summary["health_score"] < 0.95
    top = summary["overlapping_classes"][0]
    assert {top["a"], top["b"]} == {"ant", "bee"} and top["overlap"] >= 25
    by_class = summary["label_issues"]["by_class"]
    assert by_class["ant"]["flagged"] + by_class["bee"]["flagged"] > by_class["cow"]["flagged"]
    assert result.class_arrays["confident_joint"].shape == (4, 4)
    assert result.class_arrays["joint"].sum() == pytest.approx(1.0)
    found = findings(summary)
    texts = " ".join(f.text for f in found)
    assert "ant and bee" in texts and "look wrong" in texts
    assert headline(found).startswith("Main problems, most serious first: ")
    assert "overlapping classes" in headline(found) and "wrong labels" in headline(found)


def test_small_classes_are_reported_and_kept_out_of_the_label_flags() -> None:
    problem = noisy_problem((120, 120, 120, 3))
    problem.labels = problem.truth.copy()
    problem.labels[-3:] = 0  # three wrong labels: they move class dog into ant ...
    problem.labels[:3] = 3  # ... and three ants labelled dog: dog has 3 images
    result = run_audit(problem, min_class_size=5)
    arrays = result.arrays
    assert arrays["excluded"][:3].all() and not arrays["is_label_issue"][:3].any()
    assert arrays["is_label_issue"][-3:].all()  # wrong labels into a big class are still found
    assert result.summary["small_classes"] == [{"class": "dog", "images": 3}]
    topics = [f.topic for f in findings(result.summary)]
    assert "small_classes" in topics


def test_imbalance_counts_ratio_and_empty_classes() -> None:
    problem = noisy_problem((200, 50, 20, 1))
    keep = problem.labels != 3
    labels = problem.labels[keep]
    result = audit_predictions(
        labels,
        problem.pred_probs[keep],
        image_ids=np.arange(labels.size),
        class_names=NAMES,
        options=AuditOptions(),
    )
    imbalance = result.summary["imbalance"]
    assert imbalance["empty_classes"] == ["dog"]
    assert imbalance["largest"]["class"] == "ant" and imbalance["smallest"]["class"] == "cow"
    assert imbalance["ratio"] == pytest.approx(
        imbalance["counts"]["ant"] / imbalance["counts"]["cow"], abs=1e-3
    )
    imbalance_finding = next(f for f in findings(result.summary) if f.topic == "imbalance")
    assert imbalance_finding.severity in ("medium", "high") and "dog" in imbalance_finding.text


def test_filter_and_quality_methods_are_options() -> None:
    problem = noisy_problem()
    default = run_audit(problem).arrays
    other = run_audit(
        problem, filter_by="predicted_neq_given", quality_method="normalized_margin"
    ).arrays
    assert (
        np.array_equal(other["is_label_issue"], problem.pred_probs.argmax(1) != problem.labels)
        or other["is_label_issue"].sum() >= default["is_label_issue"].sum()
    )
    assert not np.allclose(other["label_quality"], default["label_quality"])
    with pytest.raises(InputError, match="--filter-by"):
        run_audit(problem, filter_by="magic")
    with pytest.raises(InputError, match="--quality-method"):
        run_audit(problem, quality_method="magic")


def test_near_duplicates_and_outliers_from_synthetic_embeddings() -> None:
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(4, 64)) * 4
    base = np.concatenate([c + rng.normal(size=(60, 64)) for c in centers])
    copies = base[[5, 70, 130]] + 1e-3 * rng.normal(size=(3, 64))  # near-duplicates of 3 images
    far = rng.normal(size=(3, 64)) * 4 + 40  # off every cluster, in different directions
    far[:, :3] *= -1
    embeddings = np.concatenate([base, copies, far]).astype(np.float32)
    n = embeddings.shape[0]
    dup_group = np.full(n, -1)
    dup_group[[10, 11]] = 0  # exact copies known from the catalog (same sha256)
    found = find_similarity_issues(embeddings, dup_group)
    groups = found.near_dup_group
    for original, copy in ((5, 240), (70, 241), (130, 242)):
        assert groups[original] >= 0 and groups[original] == groups[copy]
    assert groups[10] == groups[11] >= 0
    assert (groups >= 0).sum() == 8  # nothing else is a near-duplicate
    assert found.is_outlier[-3:].all()
    assert found.is_outlier[:240].mean() < 0.05
    assert found.outlier_score[-3:].max() < found.outlier_score[:240].min()
    without = find_similarity_issues(None, dup_group)
    assert without.outlier_score is None and (without.near_dup_group >= 0).sum() == 2


def test_group_components_are_dense_and_ordered() -> None:
    groups = group_components(7, np.array([5, 1, 2]), np.array([6, 2, 1]))
    assert groups.tolist() == [-1, 0, 0, -1, -1, 1, 1]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.full((5, 3), 1 / 3)[:4], "shape 4 x 3"),
        (np.full((5, 2), 0.5), "shape 5 x 2"),
        (np.where(np.eye(5, 3) > 0, np.nan, 1 / 3), "NaN or infinite values in rows 0, 1, 2"),
        (np.where(np.eye(5, 3) > 0, np.inf, 1 / 3), "NaN or infinite"),
        (np.tile([1.2, -0.2, 0.0], (5, 1)), "negative probabilities"),
        (np.tile([2.5, -1.0, 0.3], (5, 1)), "apply softmax"),
        (np.tile([0.9, 0.9, 0.9], (5, 1)), "apply softmax"),
        (np.tile([0.5, 0.3, 0.21], (5, 1)), "sum to 1 within 0.001"),
    ],
)
def test_bad_pred_probs_are_refused(values: np.ndarray, message: str) -> None:
    with pytest.raises(InputError, match=message):
        inputs.check_pred_probs(values, n=5, k=3, source=Path("p.npy"))


def test_good_pred_probs_are_renormalised_to_float32() -> None:
    values = np.tile([0.5, 0.3, 0.2004], (5, 1))
    checked = inputs.check_pred_probs(values, n=5, k=3, source=Path("p.npy"))
    assert checked.dtype == np.float32 and np.allclose(checked.sum(1), 1, atol=1e-6)


# -- scans in a real project -----------------------------------------------------------------


@pytest.fixture
def planted(tmp_path: Path, backend: str | None) -> Project:
    root = make_tree(tmp_path / "images", {"ant": 30, "bee": 30, "cow": 20})
    project = Project.create(tmp_path / "proj", root, db_url=backend)
    project.import_images(workers=1)
    yield project
    project.close()


def model_pred_probs(project: Project, *, flip: tuple[str, ...] = ()) -> np.ndarray:
    """pred_probs (N, K) in the documented .npy row order: confident in each folder's class,
    except ``flip`` paths, which the "model" is sure belong to the next class."""
    catalog = load_catalog(project.store, valid_only=True)
    order = inputs.documented_row_order(catalog.paths)
    rng = np.random.default_rng(0)
    k = len(catalog.class_names)
    probs = 0.2 * rng.dirichlet(np.ones(k), len(catalog))
    for row, i in enumerate(order):
        probs[row, catalog.labels[i]] += 0.8
        if catalog.paths[i] in flip:  # a confident "model": surely the next class
            probs[row] = 0.01 / (k - 1)
            probs[row, (catalog.labels[i] + 1) % k] = 0.99
    return probs


def test_byo_scan_is_stored_aligned_and_csv_equals_npy(planted: Project, tmp_path: Path) -> None:
    flip = ("ant/0003.png", "bee/0007.png", "cow/0001.png")
    probs = model_pred_probs(planted, flip=flip)
    np.save(tmp_path / "p.npy", probs)
    request = ScanRequest(pred_probs=tmp_path / "p.npy")
    outcome = run_scan(planted.store, planted.image_root, request)
    results = load_results(planted.store)
    assert results is not None and results.scan_id == outcome.scan_id
    catalog = load_catalog(planted.store, valid_only=True)
    assert np.array_equal(results.image_ids, catalog.image_ids)
    flagged_paths = {catalog.paths[i] for i in np.flatnonzero(results.is_label_issue)}
    assert flagged_paths == set(flip)
    # The same predictions as a CSV with shuffled rows and an absolute path give the same scan.
    order = inputs.documented_row_order(catalog.paths)
    sorted_paths = [catalog.paths[i] for i in order]
    lines = ["path," + ",".join(catalog.class_names)]
    for row in np.random.default_rng(3).permutation(len(order)):
        path = sorted_paths[row]
        shown = str(planted.image_root / path) if row == 0 else path
        lines.append(shown + "," + ",".join(f"{v:.9g}" for v in probs[row]))
    (tmp_path / "p.csv").write_text("\n".join(lines) + "\n")
    run_scan(planted.store, planted.image_root, ScanRequest(pred_probs=tmp_path / "p.csv"))
    again = load_results(planted.store)
    assert again is not None and again.scan_id == outcome.scan_id + 1
    assert np.allclose(again.pred_probs, results.pred_probs, atol=1e-6)
    with planted.store.read() as conn:
        row = conn.execute(sa.select(scans).where(scans.c.id == outcome.scan_id)).one()
    versions = json.loads(row.versions)
    assert row.status == "done" and row.kind == "pred_probs" and row.pid == os.getpid()
    assert versions["cleanlab"] and versions["numpy"] and "torch" in versions


def test_changed_project_makes_the_scan_stale(planted: Project, tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", model_pred_probs(planted))
    outcome = run_scan(
        planted.store, planted.image_root, ScanRequest(pred_probs=tmp_path / "p.npy")
    )
    assert scan_staleness(planted.store) == {outcome.scan_id: []}
    write_image(planted.image_root / "cow" / "new.png", seed=999)
    write_image(planted.image_root / "eel" / "0.png", seed=998)
    planted.import_images(workers=1)
    reasons = scan_staleness(planted.store)[outcome.scan_id]
    assert any("classes changed (added eel)" in r for r in reasons)
    assert any("2 images added" in r for r in reasons)


def test_scan_liveness_rules() -> None:
    host = os_identity()[1]
    now = time.time()
    alive = SimpleNamespace(status="running", host=host, pid=os.getpid(), heartbeat_at=now)
    assert scan_rows.is_alive(alive, now=now)
    unused_pid = 2**22 + 12345  # above Linux's largest pid
    dead_pid = SimpleNamespace(status="running", host=host, pid=unused_pid, heartbeat_at=now)
    assert not scan_rows.is_alive(dead_pid, now=now)
    elsewhere = SimpleNamespace(status="running", host="other-host", pid=1, heartbeat_at=now)
    assert scan_rows.is_alive(elsewhere, now=now)
    assert not scan_rows.is_alive(elsewhere, now=now + scan_rows.HEARTBEAT_TIMEOUT_S + 1)
    assert not scan_rows.is_alive(SimpleNamespace(status="done"), now=now)


# -- cross-validated scans (need the torch engine) -------------------------------------------


def tiny_tree16(root: Path, *, per_class: int = 30) -> Path:
    """4 classes x ``per_class`` random 16x16 images: enough for the engine to run in seconds."""
    for k, name in enumerate(NAMES):
        for i in range(per_class):
            write_image(root / name / f"{i:03d}.png", seed=1000 * k + i, size=(16, 16))
    return root


class CancelAtFold(RecordingProgress):
    """Presses Cancel when the given fold's step starts (as the app's Cancel button would)."""

    def __init__(self, fold_step: str) -> None:
        super().__init__(CancelToken())
        self.fold_step = fold_step

    def _emit_start(self, state: StepState) -> None:
        super()._emit_start(state)
        if state.name.startswith(self.fold_step):
            self.cancel.cancel()


@pytest.mark.slow
def test_cancel_keeps_finished_folds_and_the_next_scan_resumes(tmp_path: Path) -> None:
    """Cancel through the progress token (the engine polls it); the CLI test checks that a
    resumed scan equals an uninterrupted one."""
    pytest.importorskip("torch")
    root = tiny_tree16(tmp_path / "images", per_class=20)
    config = ScanConfig(
        model="small-cnn", folds=3, epochs=1, image_size=16, device="cpu", embed=False, tta=False
    )
    request = ScanRequest(config=config)
    with Project.create(tmp_path / "p", root) as project:
        project.import_images(workers=1)
        with pytest.raises(Cancelled, match="resume"):
            run_scan(project.store, project.image_root, request, progress=CancelAtFold("fold 2"))
        assert load_results(project.store) is None  # nothing half-published
        with project.store.read() as conn:
            row = conn.execute(sa.select(scans)).one()
            kept = get_array(conn, f"scan:{row.id}", "fold0_probs")
        assert row.status == "cancelled" and row.folds_done == 1 and kept is not None
        progress = RecordingProgress()
        resumed = run_scan(project.store, project.image_root, request, progress=progress)
        assert resumed.scan_id == row.id and resumed.resumed_folds == 1
        assert any("resuming scan" in e[1] for e in progress.events if e[0] == "message")
        trained = [e[1] for e in progress.events if e[0] == "start" and e[1].startswith("fold")]
        assert trained == ["fold 2/3", "fold 3/3"]  # fold 1 came from its checkpoint
        result = load_results(project.store, resumed.scan_id)
        assert result is not None and sorted(set(result.fold.tolist())) == [0, 1, 2]
        assert np.allclose(result.pred_probs.sum(1), 1, atol=1e-5)
        with project.store.read() as conn:
            names = array_names(conn, f"scan:{row.id}")
        assert "pred_probs" in names and not [n for n in names if n.startswith("fold0")]


def test_user_embeddings_replace_the_embedding_network_and_calibration_is_recorded(
    tmp_path: Path,
) -> None:
    pytest.importorskip("torch")
    root = tiny_tree16(tmp_path / "images", per_class=15)
    config = ScanConfig(model="small-cnn", folds=3, epochs=1, image_size=16, tta=False)
    with Project.create(tmp_path / "p", root) as project:
        project.import_images(workers=1)
        n = len(load_catalog(project.store, valid_only=True))
        user = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
        np.save(tmp_path / "emb.npy", user)
        request = ScanRequest(config=config, embeddings=tmp_path / "emb.npy")
        progress = RecordingProgress()
        outcome = run_scan(project.store, project.image_root, request, progress=progress)
        results = load_results(project.store, outcome.scan_id)
    steps = [name for kind, name, _ in progress.events if kind == "start"]
    assert "embedding model" not in steps and "embeddings" not in steps
    assert results is not None and results.config["embed"] is False
    assert results.embeddings.shape == (n, 8)
    assert sorted(map(tuple, results.embeddings.round(5))) == sorted(map(tuple, user.round(5)))
    calibration = results.config["calibration"]
    assert results.config["calibrate"] is True and len(calibration["folds"]) == 3
    assert calibration["mean_temperature"] > 0


def test_running_out_of_memory_in_an_own_predictions_scan_is_one_line(
    planted: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    np.save(tmp_path / "p.npy", model_pred_probs(planted))

    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError  # what numpy raises when the file does not fit

    monkeypatch.setattr(inputs, "read_pred_probs", exhausted)
    with pytest.raises(InputError, match=r"ran out of memory .*--batch-size") as info:
        run_scan(planted.store, planted.image_root, ScanRequest(pred_probs=tmp_path / "p.npy"))
    assert "\n" not in str(info.value)
    with planted.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(scans)).scalar() == 0


def test_unknown_audit_methods_and_too_many_folds_fail_before_a_scan_row(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    root = tiny_tree16(tmp_path / "images", per_class=6)
    quick = ScanConfig(model="small-cnn", folds=3, epochs=1, image_size=16)
    with Project.create(tmp_path / "p", root) as project:
        project.import_images(workers=1)
        for request, message in (
            (ScanRequest(config=quick, filter_by="magic"), "unknown --filter-by 'magic'"),
            (ScanRequest(config=quick, quality_method="magic"), "unknown --quality-method"),
            (
                ScanRequest(config=ScanConfig(model="small-cnn", folds=7)),
                "--folds 7 is more than any class has images (every class has 6): use --folds 6",
            ),
        ):
            with pytest.raises(InputError, match=re.escape(message)):
                run_scan(project.store, project.image_root, request)
        with project.store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(scans)).scalar() == 0


def many_class_problem(n: int = 6000, k: int = 12, seed: int = 3) -> SimpleNamespace:
    """10% uniform flips, an unsure model (30% of each row spread over all classes)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    labels = truth.copy()
    flip = rng.random(n) < 0.1
    labels[flip] = (truth[flip] + rng.integers(1, k, int(flip.sum()))) % k
    pred_probs = 0.3 * rng.dirichlet(np.full(k, 0.3), n)
    pred_probs[np.arange(n), truth] += rng.uniform(0.2, 0.7, n)
    pred_probs /= pred_probs.sum(axis=1, keepdims=True)
    return SimpleNamespace(labels=labels, pred_probs=pred_probs.astype(np.float32))


def test_batched_audit_equals_the_in_memory_audit(tmp_path: Path) -> None:
    """Forced with batch_above_mb=0 on a memory-mapped .npy: every array and finding is the same
    (chunk and class-group sizes as the defaults: 1 chunk, 1 group at this size)."""
    problem = many_class_problem()
    np.save(tmp_path / "p.npy", problem.pred_probs)
    mapped = np.load(tmp_path / "p.npy", mmap_mode="r")
    names = [f"c{i:02d}" for i in range(12)]

    def audit(pred_probs: np.ndarray, **options: float) -> Any:
        return audit_predictions(
            problem.labels,
            pred_probs,
            image_ids=np.arange(problem.labels.size),
            class_names=names,
            options=AuditOptions(**options),  # type: ignore[arg-type]
        )

    memory, chunked = audit(problem.pred_probs), audit(mapped, batch_above_mb=0)
    assert memory.summary.pop("audit_method") == {"batched": False}
    method = chunked.summary.pop("audit_method")
    assert method["batched"] is True and method["read_from_file"] is True
    assert chunked.summary["options"].pop("batch_above_mb") == 0
    assert memory.summary["options"].pop("batch_above_mb") == 512
    assert chunked.summary == memory.summary and memory.summary["label_issues"]["flagged"] > 400
    for name, values in memory.arrays.items():
        assert np.array_equal(chunked.arrays[name], values), name
    for name, values in memory.class_arrays.items():
        assert np.array_equal(chunked.class_arrays[name], values), name
    assert chunked.timings["peak_rss_mb"] > 0


@pytest.mark.parametrize("filter_by", FILTER_METHODS)
def test_batched_label_issues_in_many_chunks_and_class_groups(filter_by: str) -> None:
    """Chunks of ~170 rows and class groups of ~2 classes: the same flags as cleanlab's
    in-memory find_label_issues; the two ranked methods follow cleanlab's own batched function
    exactly, which cleanlab documents as an approximation of the in-memory result."""
    from cleanlab.experimental.label_issues_batched import find_label_issues_batched

    from labelaudit.core.audit import batched
    from labelaudit.core.audit import label_issues as label_checks

    problem = many_class_problem()
    labels, pred_probs = problem.labels, problem.pred_probs
    found = batched.label_arrays(
        labels,
        pred_probs,
        filter_by=filter_by,
        quality_method="normalized_margin",
        chunk_mb=0.008,
        group_mb=0.05,
    )
    joint = label_checks.confident_joint(labels, pred_probs)
    assert np.array_equal(found.confident_joint, joint)
    memory = label_checks.find_label_issues(
        labels, pred_probs, filter_by=filter_by, confident_joint=joint
    )
    flagged = found.per_image["is_label_issue"]
    assert found.info["chunk_rows"] == 174 and flagged.sum() > 300
    if filter_by in batched.RANKED:
        with label_checks.quiet_cleanlab():
            reference = find_label_issues_batched(
                labels,
                pred_probs,
                batch_size=174,
                quality_score_kwargs={"method": filter_by[4:]},
                return_mask=True,
                verbose=False,
            )
        assert np.array_equal(flagged, reference)
        assert (flagged & memory).sum() / (flagged | memory).sum() > 0.95
    else:
        assert np.array_equal(flagged, memory)
    if filter_by in batched.BY_CLASS:
        assert found.info["class_groups"] == 6  # two classes each: sorted via a temporary file
    quality = label_checks.label_quality_scores(labels, pred_probs, method="normalized_margin")
    assert np.array_equal(found.per_image["label_quality"], quality)


def test_class_groups_fit_the_budget_and_hold_two_classes_with_images() -> None:
    from labelaudit.core.audit.batched import class_groups

    def grouped(counts: list[int], rows: int) -> list[list[int]]:
        return [g.tolist() for g in class_groups(np.array(counts), 1, group_mb=rows * 4 / 2**20)]

    assert grouped([10, 10, 10, 10], 20) == [[0, 1], [2, 3]]
    assert grouped([10, 0, 10, 10, 10], 10) == [[0, 1, 2], [3, 4]]  # an empty class rides along
    assert grouped([50, 50, 50], 10) == [[0, 1, 2]]  # never a class alone
    assert grouped([1, 1, 1], 100) == [[0, 1, 2]]
