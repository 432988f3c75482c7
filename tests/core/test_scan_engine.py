"""The scan engine: cross-validated CNNs learn, never predict a row they trained on, resume, and
refuse bad options with one clear line. Real torch training on tiny generated images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from labelaudit.core.errors import Cancelled, InputError  # noqa: E402
from labelaudit.core.progress import CancelToken, RecordingProgress  # noqa: E402
from labelaudit.core.scan import _train  # noqa: E402
from labelaudit.core.scan.api import ScanConfig, ScanResourceError  # noqa: E402
from labelaudit.core.scan.cv import cross_validate, resolve_config  # noqa: E402
from labelaudit.core.scan.decode import decode_images  # noqa: E402
from labelaudit.core.scan.folds import assign_folds  # noqa: E402

N_PER_CLASS = 60
FLIP_RATE = 0.1
# images 0..19 form 10 duplicate pairs and 20..22 a triple: groups that must share a fold
GROUPS = np.full(4 * N_PER_CLASS, -1, dtype=np.int64)
GROUPS[:20] = np.arange(20) // 2
GROUPS[20:23] = 99


def shape_image(cls: int, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """Horizontal stripes, vertical stripes, a disc or a square: random place, colour, noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = rng.uniform(10, 22, 2)
    r = rng.uniform(5, 9)
    period, phase = rng.uniform(4, 8), rng.uniform(0, 2 * np.pi)
    if cls == 0:
        mask = np.sin(2 * np.pi * yy / period + phase) > 0
    elif cls == 1:
        mask = np.sin(2 * np.pi * xx / period + phase) > 0
    elif cls == 2:
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    else:
        mask = (abs(yy - cy) < 0.8 * r) & (abs(xx - cx) < 0.8 * r)
    fg, bg = rng.uniform(120, 255, 3), rng.uniform(0, 110, 3)
    pixels = np.where(mask[..., None], fg, bg) + rng.normal(0, 28, (size, size, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


class Shapes:
    def __init__(self, root: Path, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.truth = np.repeat(np.arange(4), N_PER_CLASS)
        self.given = self.truth.copy()
        flip = rng.choice(len(self.truth), round(FLIP_RATE * len(self.truth)), replace=False)
        self.given[flip] = (self.truth[flip] + rng.integers(1, 4, len(flip))) % 4
        self.paths: list[Path] = []
        for i, true_class in enumerate(self.truth):
            path = root / f"c{self.given[i]}" / f"{i:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(shape_image(int(true_class), rng)).save(path)
            self.paths.append(path)


class MemoryCheckpoint:
    """A FoldCheckpoint in a dict, recording what was loaded and saved."""

    def __init__(self, folds: dict[int, np.ndarray] | None = None) -> None:
        self.folds = dict(folds or {})
        self.saved: list[int] = []
        self.parts: dict[str, np.ndarray] = {}

    def load(self, fold: int) -> np.ndarray | None:
        return self.folds.get(fold)

    def save(self, fold: int, pred_probs: np.ndarray) -> None:
        self.folds[fold] = pred_probs.copy()
        self.saved.append(fold)

    def load_part(self, name: str) -> np.ndarray | None:
        return self.parts.get(name)

    def save_part(self, name: str, array: np.ndarray) -> None:
        self.parts[name] = array.copy()


@pytest.fixture(scope="module", autouse=True)
def fresh_torch_cache(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An empty torch cache, as on a fresh machine: ``auto`` must not depend on whether this
    machine happens to hold resnet18's ImageNet weights (it would pick a linear probe).
    Tests that need cached weights set TORCH_HOME themselves."""
    empty = tmp_path_factory.mktemp("fresh-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(empty / "torch"))
        mp.setenv("XDG_CACHE_HOME", str(empty))
        yield empty


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Shapes:
    return Shapes(tmp_path_factory.mktemp("shapes"))


@pytest.fixture(scope="module")
def full_scan(shapes: Shapes) -> dict[str, Any]:
    """One default scan of the 240 shapes, recording the rows each fold trained on."""
    trained_rows: list[np.ndarray] = []
    original_fit = _train.fit

    def recording_fit(model: Any, data: Any, index: np.ndarray, *args: Any, **kw: Any) -> None:
        trained_rows.append(np.sort(np.asarray(index)))
        original_fit(model, data, index, *args, **kw)

    progress, checkpoint = RecordingProgress(), MemoryCheckpoint()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_train, "fit", recording_fit)
        result = cross_validate(
            shapes.paths,
            shapes.given,
            n_classes=4,
            groups=GROUPS,
            # 12 epochs (the default for 240 images is 25) and one thread keep this test near
            # 15 CPU-seconds and robust on a busy shared CPU
            config=ScanConfig(seed=0, epochs=12, threads=1),
            progress=progress,
            checkpoint=checkpoint,
        )
    return {"result": result, "trained": trained_rows, "progress": progress, "ckpt": checkpoint}


@pytest.mark.slow
def test_cv_learns_the_true_classes_and_flags_planted_flips(
    shapes: Shapes, full_scan: dict
) -> None:
    from cleanlab.filter import find_label_issues

    probs = full_scan["result"].pred_probs
    assert probs.dtype == np.float32 and probs.shape == (len(shapes.paths), 4)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()
    accuracy = (probs.argmax(axis=1) == shapes.truth).mean()
    assert accuracy >= 0.9, accuracy
    flips = shapes.given != shapes.truth
    flagged = find_label_issues(shapes.given, probs)
    assert (flagged & flips).sum() >= 0.7 * flips.sum(), (flagged & flips).sum()


@pytest.mark.slow
def test_each_row_is_predicted_by_the_model_that_held_it_out(full_scan: dict) -> None:
    result, checkpoint = full_scan["result"], full_scan["ckpt"]
    n = len(result.fold)
    assert result.fold.dtype == np.int8 and set(np.unique(result.fold)) == set(range(5))
    fold_models = full_scan["trained"][:5]  # then the embedding model, trained on every image
    for k, trained in enumerate(fold_models):
        held_out = np.flatnonzero(result.fold == k)
        assert np.array_equal(trained, np.flatnonzero(result.fold != k))
        assert np.intersect1d(trained, held_out).size == 0
        # the checkpoint keeps the fold's raw rows; calibration tempers them, keeping each argmax
        raw = checkpoint.folds[k]
        assert raw.shape == (held_out.size, 4)
        assert np.array_equal(raw.argmax(axis=1), result.pred_probs[held_out].argmax(axis=1))
    assert checkpoint.saved == [0, 1, 2, 3, 4]
    assert np.array_equal(full_scan["trained"][5], np.arange(n))
    for group in (*range(10), 99):
        assert len(set(result.fold[group == GROUPS])) == 1


@pytest.mark.slow
def test_embeddings_come_from_one_network_and_progress_is_reported(full_scan: dict) -> None:
    result, events = full_scan["result"], full_scan["progress"].events
    assert result.embeddings is not None
    assert result.embeddings.shape[0] == len(result.fold) and result.embeddings.dtype == np.float32
    starts = [name for kind, name, _ in events if kind == "start"]
    assert starts == [
        "decode",
        *(f"fold {k}/5" for k in range(1, 6)),
        "embedding model",
        "embeddings",
    ]
    fold_starts = [info for kind, name, info in events if kind == "start" and "fold" in name]
    assert [(i["fold"], i["n_folds"]) for i in fold_starts] == [(k, 5) for k in range(1, 6)]
    fold_updates = [info for kind, name, info in events if kind == "update" and "fold" in name]
    assert fold_updates and {"epoch", "epochs", "images_per_s", "eta_s"} <= set(fold_updates[-1])
    assert result.info["model"] == "small-cnn" and "from scratch" in result.info["why"]
    # the coloured shapes are decided to be photos from the decoded images: mirrored
    assert result.info["flip_why"].startswith("mirroring on: 100% of 240 sampled images")
    assert result.info["config"]["flip"] is True


def _quick(**kw: Any) -> ScanConfig:
    return ScanConfig(epochs=2, embed=False, threads=1, **kw)


@pytest.mark.slow
def test_same_seed_is_byte_identical_and_resume_skips_finished_folds(shapes: Shapes) -> None:
    paths, labels = shapes.paths[::2], shapes.given[::2]
    whole = MemoryCheckpoint()
    first = cross_validate(
        paths, labels, n_classes=4, groups=None, config=_quick(), checkpoint=whole
    )
    torch.manual_seed(12345)  # the caller's RNG state must not matter
    second = cross_validate(paths, labels, n_classes=4, groups=None, config=_quick())
    assert first.pred_probs.tobytes() == second.pred_probs.tobytes()

    killed_after_two = MemoryCheckpoint({k: whole.folds[k] for k in (0, 1)})
    progress = RecordingProgress()
    resumed = cross_validate(
        paths,
        labels,
        n_classes=4,
        groups=None,
        config=_quick(),
        checkpoint=killed_after_two,
        progress=progress,
    )
    assert resumed.pred_probs.tobytes() == first.pred_probs.tobytes()
    assert killed_after_two.saved == [2, 3, 4]
    started = [name for kind, name, _ in progress.events if kind == "start"]
    assert "fold 1/5" not in started and "fold 2/5" not in started and "fold 3/5" in started
    assert resumed.info["resumed_folds"] == [0, 1]

    other_seed = cross_validate(paths, labels, n_classes=4, groups=None, config=_quick(seed=1))
    assert other_seed.pred_probs.tobytes() != first.pred_probs.tobytes()


@pytest.mark.slow
def test_cancel_stops_between_batches_and_keeps_finished_folds(shapes: Shapes) -> None:
    class CancelInSecondFold(RecordingProgress):
        def _emit_start(self, state: Any) -> None:
            super()._emit_start(state)
            if state.name == "fold 2/5":
                self.cancel.cancel()

    checkpoint = MemoryCheckpoint()
    with pytest.raises(Cancelled):
        cross_validate(
            shapes.paths[::2],
            shapes.given[::2],
            n_classes=4,
            groups=None,
            config=_quick(),
            progress=CancelInSecondFold(CancelToken()),
            checkpoint=checkpoint,
        )
    assert checkpoint.saved == [0]


def test_fold_assignment_keeps_groups_together_and_stratifies() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 600)
    groups = np.full(600, -1)
    groups[:90] = np.arange(90) // 3
    fold = assign_folds(labels, n_folds=5, seed=7, groups=groups)
    assert np.array_equal(fold, assign_folds(labels, n_folds=5, seed=7, groups=groups))
    for g in range(30):
        assert len(set(fold[groups == g])) == 1
    for cls in range(3):
        counts = np.bincount(fold[labels == cls], minlength=5)
        assert counts.max() - counts.min() <= 4, counts
    with pytest.raises(InputError):
        assign_folds(labels[:3], n_folds=5, seed=0)


def test_more_folds_than_any_class_has_images_is_one_clear_line() -> None:
    with pytest.raises(InputError, match=r"every class has 2\): use --folds 2 or fewer"):
        assign_folds(np.arange(6) % 3, n_folds=5, seed=0)
    # duplicate pairs of six classes, too few per class for StratifiedGroupKFold: still grouped
    labels = np.concatenate([np.repeat(np.arange(6), 2), np.zeros(10, dtype=np.int64)])
    groups = np.concatenate([np.arange(12) // 2, np.full(10, -1)])
    fold = assign_folds(labels, n_folds=5, seed=0, groups=groups)
    assert set(fold.tolist()) == set(range(5))
    for g in range(6):
        assert len(set(fold[groups == g])) == 1


@pytest.mark.slow
def test_linear_probe_on_a_saved_random_resnet18(shapes: Shapes, tmp_path: Path) -> None:
    weights = tmp_path / "r18.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    config = ScanConfig(weights=weights, image_size=32, folds=3)
    resolved, why = resolve_config(config, n_classes=4, n_images=120)
    assert resolved.model == "resnet18" and resolved.linear_probe, why  # auto on a CPU
    result = cross_validate(
        shapes.paths[::2], shapes.given[::2], n_classes=4, groups=None, config=config
    )
    assert result.pred_probs.shape == (120, 4) and result.pred_probs.dtype == np.float32
    assert np.allclose(result.pred_probs.sum(axis=1), 1.0, atol=1e-5)
    assert result.embeddings is not None and result.embeddings.shape == (120, 512)
    assert "linear probe" in result.info["model"]


def _error_line(config: ScanConfig, **kw: Any) -> str:
    args = {"n_classes": 4, "n_images": 100, **kw}
    with pytest.raises(InputError) as info:
        resolve_config(config, **args)
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_bad_options_are_one_line_input_errors(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    mobilenet = tmp_path / "mobilenet.pth"
    torch.save(torchvision.models.mobilenet_v3_small(weights=None).state_dict(), mobilenet)
    junk = tmp_path / "junk.pth"
    junk.write_text("not a state dict")

    assert "unknown --model" in _error_line(ScanConfig(model="vgg99"))
    assert "do not fit resnet18" in _error_line(ScanConfig(model="resnet18", weights=mobilenet))
    assert "not a torch state_dict" in _error_line(ScanConfig(model="resnet18", weights=junk))
    assert "too small" in _error_line(ScanConfig(image_size=8))
    assert "too small" in _error_line(ScanConfig(model="resnet18", image_size=16))
    assert "needs pretrained weights" in _error_line(ScanConfig(linear_probe=True))
    assert "--weights is for" in _error_line(ScanConfig(model="small-cnn", weights=mobilenet))
    assert "at least 2 classes" in _error_line(ScanConfig(), n_classes=1)
    assert "too few" in _error_line(ScanConfig(folds=5), n_images=6)
    assert "--device" in _error_line(ScanConfig(device="tpu"))
    if not torch.cuda.is_available():
        assert "CUDA is not available" in _error_line(ScanConfig(device="cuda"))


def test_auto_without_weights_explains_itself_and_is_idempotent(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    resolved, why = resolve_config(ScanConfig(), n_classes=4, n_images=240)
    assert resolved.model == "small-cnn" and "no pretrained weights" in why and "\n" not in why
    assert resolved.epochs and resolved.batch_size and resolved.image_size and resolved.threads
    assert resolve_config(resolved, n_classes=4, n_images=240)[0] == resolved


def test_cached_torchvision_weights_are_found_without_downloading(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from labelaudit.core.scan.models import weight_file_names

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(
        torchvision.models.resnet18(weights=None).state_dict(),
        cache / weight_file_names("resnet18")[0],
    )
    resolved, why = resolve_config(ScanConfig(), n_classes=4, n_images=240)
    assert resolved.model == "resnet18" and resolved.linear_probe and "cache" in why
    assert resolved.weights == cache / weight_file_names("resnet18")[0]


def test_decode_keeps_gray_as_one_channel_and_mixes_to_three(tmp_path: Path) -> None:
    gray = tmp_path / "g.png"
    Image.fromarray(np.full((10, 20), 200, np.uint8), "L").save(gray)
    rgba = tmp_path / "a.png"
    Image.fromarray(np.zeros((40, 40, 4), np.uint8), "RGBA").save(rgba)  # transparent -> white
    photo = tmp_path / "p.jpg"
    Image.fromarray(np.full((300, 200, 3), (10, 20, 30), np.uint8), "RGB").save(photo)
    only_gray = decode_images([gray, gray], size=16)
    assert only_gray.shape == (2, 1, 16, 16) and only_gray.dtype == np.uint8
    mixed = decode_images([gray, rgba, photo], size=16, workers=2)
    assert mixed.shape == (3, 3, 16, 16)
    assert (mixed[0] == 200).all() and (mixed[1] == 255).all()
    assert np.abs(mixed[2].reshape(3, -1).mean(axis=1) - (10, 20, 30)).max() < 3
    with pytest.raises(InputError, match="cannot read"):
        decode_images([tmp_path / "gone.png"], size=16)


def test_images_that_cannot_fit_in_memory_are_a_resource_error(shapes: Shapes) -> None:
    with pytest.raises(ScanResourceError, match="--image-size"):
        cross_validate(
            shapes.paths[:20],
            shapes.given[:20],
            n_classes=4,
            groups=None,
            config=ScanConfig(image_size=200_000, folds=2),
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_scan_runs_mixed_precision(shapes: Shapes) -> None:
    result = cross_validate(
        shapes.paths, shapes.given, n_classes=4, groups=None, config=ScanConfig(device="cuda")
    )
    assert (result.pred_probs.argmax(axis=1) == shapes.truth).mean() >= 0.9
    assert result.info["device"].startswith("cuda")


def test_calibration_recovers_noise_rate_and_sharpens_underconfident_rows() -> None:
    from labelaudit.core.scan.calibrate import calibrate_folds, fit_noisy_temperature, temper

    rng = np.random.default_rng(0)
    n, k = 3000, 5
    truth = rng.integers(0, k, n)
    sharp = np.full((n, k), 0.01)
    sharp[np.arange(n), truth] = 0.96
    soft = temper(sharp, 0.3)  # an under-confident model: right, but with a top prob ~0.5
    given = truth.copy()
    flipped = rng.random(n) < 0.15
    given[flipped] = (truth[flipped] + rng.integers(1, k, flipped.sum())) % k
    t, eta, _ = fit_noisy_temperature(soft, given)
    # uniform flips to one of the k - 1 other classes look like eta = 0.15 * k / (k - 1)
    assert t > 3 and abs(eta - 0.15 * k / (k - 1)) < 0.03, (t, eta)

    fold = assign_folds(given, n_folds=5, seed=0)
    calibrated, fits = calibrate_folds(soft, given, fold)
    assert calibrated.dtype == np.float32 and np.allclose(calibrated.sum(axis=1), 1, atol=1e-5)
    assert np.array_equal(calibrated.argmax(axis=1), soft.argmax(axis=1))
    assert calibrated.max(axis=1).mean() > 0.9 and len(fits) == 5
    # a fold's temperature never depends on its own labels
    relabelled = given.copy()
    relabelled[fold == 0] = 0
    again, _ = calibrate_folds(soft, relabelled, fold)
    assert np.array_equal(again[fold == 0], calibrated[fold == 0])


def test_a_fully_checkpointed_scan_decodes_and_trains_nothing(tmp_path: Path) -> None:
    n = 30
    labels = np.arange(n) % 3
    paths = [tmp_path / f"missing-{i}.png" for i in range(n)]  # never opened
    fold = assign_folds(labels, n_folds=3, seed=0)
    rng = np.random.default_rng(0)
    stored = {}
    for k in range(3):
        rows = rng.random(((fold == k).sum(), 3)).astype(np.float32)
        stored[k] = rows / rows.sum(axis=1, keepdims=True)
    progress = RecordingProgress()
    result = cross_validate(
        paths,
        labels,
        n_classes=3,
        groups=None,
        config=ScanConfig(folds=3, embed=False, calibrate=False),
        progress=progress,
        checkpoint=MemoryCheckpoint(stored),
    )
    for k in range(3):
        assert np.array_equal(result.pred_probs[fold == k], stored[k])
    assert not [e for e in progress.events if e[0] == "start"]
    assert result.info["resumed_folds"] == [0, 1, 2]
    assert result.info["config"]["flip"] is None and result.info["flip_why"] is None


@pytest.mark.slow
@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v3_small"])
def test_torchvision_backbones_fine_tune_per_fold(
    shapes: Shapes, tmp_path: Path, monkeypatch: Any, model: str
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no cached weights: trained from scratch
    weights = None
    if model == "resnet18":  # "pretrained": a saved random state_dict, as no test downloads
        weights = tmp_path / "r18.pth"
        torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    config = ScanConfig(model=model, weights=weights, image_size=32, epochs=1, folds=2, threads=1)
    paths, labels = shapes.paths[::4], shapes.given[::4]
    resolved, why = resolve_config(config, n_classes=4, n_images=len(paths))
    assert not resolved.linear_probe and ("fine-tuned" if weights else "from scratch") in why
    result = cross_validate(paths, labels, n_classes=4, groups=None, config=config)
    assert result.pred_probs.shape == (len(paths), 4)
    assert np.allclose(result.pred_probs.sum(axis=1), 1.0, atol=1e-5)
    assert result.embeddings is not None and len(result.embeddings) == len(paths)


def test_channel_statistics_from_histograms_equal_numpys() -> None:
    """Mean and std per channel from 256-bin counts (made where the images live, no float copy)
    equal numpy's float64 mean and std of all pixels."""
    images = np.random.default_rng(0).integers(0, 256, (50, 3, 9, 7), dtype=np.uint8)
    images[:, 2] = 7  # a flat channel: std clipped to 1e-3
    mean, std = _train.channel_stats(torch.from_numpy(images))
    flat = images.transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64)
    assert np.allclose(mean, flat.mean(axis=1) / 255, rtol=1e-12, atol=0)
    assert np.allclose(std[:2], flat.std(axis=1)[:2] / 255, rtol=1e-12, atol=0)
    assert std[2] == 1e-3
