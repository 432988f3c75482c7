#!/usr/bin/env python3
"""Retrain an image classifier on a labelaudit export, from a laptop CPU to a GPU cluster.

    python retrain.py DIR [options]                              # one process, CPU or one GPU
    torchrun --nproc_per_node=8 retrain.py DIR [options]         # several GPUs (or CPU + gloo)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-endpoint=HOST:29500 retrain.py DIR ...

Trains on DIR/train, keeps the epoch with the best DIR/val score (early stopping), and reports
accuracy overall and per class with a confusion matrix on DIR/test and, with --eval-manifest, on
a held-out set with true labels. Labels map through DIR/classes.json (torchvision ImageFolder's
class_to_idx). Imbalance is corrected ONCE, as DIR/provenance.json says: class-weighted loss, a
weighted sampler, or nothing when the export was already rebalanced.

Needs only torch and torchvision (and Pillow, which torchvision brings). Never downloads:
pretrained weights are used only when already in torch's cache (--pretrained).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for annotations only: importing this script must not import torch
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset

    Item = tuple[torch.Tensor, int, int]  # (image, label, index)
    _ImageDataset = Dataset[Item]
else:
    _ImageDataset = object

# What the exporter writes (core/export/names.py keeps the import's suffix, lower-cased;
# core/export/files.py turns .gif into .png); tests/test_retrain.py checks every one is read.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
SPLITS = ("train", "val", "test")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
Sample = tuple[str, int]  # (image path, class index)
Triple = tuple[float, float, float]


class RetrainError(Exception):
    """A problem the user can fix, printed as one line."""


class RetrainInterrupted(KeyboardInterrupt):
    """Ctrl-C, with what it cut short and what (nothing) was saved: one line."""


# -- the export --------------------------------------------------------------------------------
def read_classes(root: Path) -> list[str]:
    """Folder names in class-index order, from classes.json."""
    try:
        mapping = json.loads((root / "classes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RetrainError(f"{root} is not a labelaudit export: no classes.json ({exc})") from None
    names = sorted(mapping, key=lambda k: mapping[k])
    if [mapping[n] for n in names] != list(range(len(names))):
        raise RetrainError(f"{root / 'classes.json'} must map class names to 0..K-1")
    return names


def read_provenance(root: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((root / "provenance.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def folder_samples(root: Path, split: str, classes: list[str]) -> list[Sample]:
    """(path, class index) under root/split/<class>/, sorted as ImageFolder sorts them."""
    out: list[Sample] = []
    for index, name in enumerate(classes):
        folder = root / split / name
        if not folder.is_dir():
            continue
        for dirpath, _, files in sorted(os.walk(folder, followlinks=True)):
            for f in sorted(files):
                if f.lower().endswith(IMAGE_EXTENSIONS):
                    out.append((os.path.join(dirpath, f), index))
    return out


def _unescape_cell(text: str) -> str:
    """A manifest.csv cell as labelaudit meant it: it puts a ' before a cell starting with
    = + - @ tab CR or ' followed by one of those (no spreadsheet formulas); drop exactly that."""
    marked = len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r'"
    return text[1:] if marked else text


def manifest_samples(
    manifest: Path, classes: list[str], *, split: str | None, aliases: dict[str, str]
) -> list[Sample]:
    """(path, class index) rows of a CSV with ``path`` and ``label`` (and optional ``split``);
    relative paths are relative to the CSV's folder."""
    index = {name: i for i, name in enumerate(classes)}
    out: list[Sample] = []
    try:
        with open(manifest, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"path", "label"} - set(reader.fieldnames or ())
            if missing:
                raise RetrainError(
                    f"{manifest} needs the columns path and label (missing: "
                    f"{', '.join(sorted(missing))})"
                )
            for n, raw in enumerate(reader, start=2):
                row = {k: _unescape_cell(v or "") for k, v in raw.items()}
                if split is not None and row.get("split") != split:
                    continue
                label = aliases.get(row.get("label") or "", row.get("label") or "")
                if label not in index:
                    raise RetrainError(f"{manifest}:{n}: unknown label {row.get('label')!r}")
                path = Path(row.get("path") or "")
                out.append(
                    (str(path if path.is_absolute() else manifest.parent / path), index[label])
                )
    except OSError as exc:
        raise RetrainError(f"cannot read {manifest}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RetrainError(f"{manifest} is not a UTF-8 CSV file") from None
    return out


def load_splits(root: Path, classes: list[str]) -> dict[str, list[Sample]]:
    if (root / "train").is_dir():
        return {s: folder_samples(root, s, classes) for s in SPLITS}
    if (root / "manifest.csv").is_file():
        m = root / "manifest.csv"
        return {s: manifest_samples(m, classes, split=s, aliases={}) for s in SPLITS}
    raise RetrainError(f"{root} has neither train/ nor manifest.csv: not a labelaudit export")


def class_aliases(provenance: dict[str, Any]) -> dict[str, str]:
    """Original class names -> folder names (they differ where a name was unsafe as a folder)."""
    return {c["name"]: c["folder"] for c in provenance.get("classes", []) if "name" in c}


# -- images ------------------------------------------------------------------------------------
def decode(path: str, size: int) -> torch.Tensor:
    """uint8 tensor (3, size, size): EXIF-rotated, RGB, shorter side resized, centre-cropped."""
    from PIL import Image, ImageOps
    from torchvision.transforms.v2 import functional as F

    try:
        with Image.open(path) as im:
            img = ImageOps.exif_transpose(im).convert("RGB")
    except OSError as exc:  # missing, unreadable or not an image
        raise RetrainError(f"cannot read image {path}: {exc}") from None
    w, h = img.size
    scale = size / min(w, h)
    if scale != 1:
        new = (max(size, round(w * scale)), max(size, round(h * scale)))
        img = img.resize(new, Image.Resampling.BILINEAR, reducing_gap=3.0)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return F.pil_to_tensor(img.crop((left, top, left + size, top + size)))


class ImageList(_ImageDataset):
    """A map-style dataset of (image, label, index); images are decoded on demand or cached."""

    def __init__(
        self, samples: list[Sample], size: int, transform: Callable[[torch.Tensor], torch.Tensor]
    ) -> None:
        self.paths = [p for p, _ in samples]
        self.labels = [y for _, y in samples]
        self.size = size
        self.transform = transform
        self.cache: torch.Tensor | None = None  # uint8 (N, 3, size, size)

    def __len__(self) -> int:
        return len(self.paths)

    def fill_cache(self, threads: int) -> None:
        import torch

        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            images = list(pool.map(lambda p: decode(p, self.size), self.paths))
        self.cache = torch.stack(images) if images else None

    def __getitem__(self, i: int) -> Item:
        img = self.cache[i] if self.cache is not None else decode(self.paths[i], self.size)
        return self.transform(img), self.labels[i], i


def transforms(
    size: int, *, augment: bool, orientation: bool, mean: Triple, std: Triple
) -> Callable[[torch.Tensor], torch.Tensor]:
    """v2 pipelines on uint8 tensors: crop, flip, rotation (orientation-changing ones optional),
    colour jitter for training; normalisation for both."""
    import torch
    from torchvision.transforms import v2

    steps: list[Any] = []
    if augment:
        steps.append(v2.RandomCrop(size, padding=max(1, size // 8), padding_mode="reflect"))
        if orientation:
            steps += [v2.RandomHorizontalFlip(), v2.RandomRotation(10)]
        steps.append(v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    return v2.Compose(steps)


def guess_image_size(samples: list[Sample]) -> int:
    """The median shorter side of up to 200 images, rounded to 8, within [32, 224]."""
    from PIL import Image

    sides = []
    for path, _ in samples[:: max(1, len(samples) // 200)][:200]:
        try:
            with Image.open(path) as im:
                sides.append(min(im.size))
        except OSError as exc:
            raise RetrainError(f"cannot read image {path}: {exc}") from None
    if not sides:
        return 32
    median = sorted(sides)[len(sides) // 2]
    return int(min(224, max(32, round(median / 8) * 8)))


# -- distribution ------------------------------------------------------------------------------
class Dist:
    """torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK), or a single process."""

    def __init__(self, device_kind: str) -> None:
        import torch.distributed as dist

        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(self.world)))
        self.enabled = self.world > 1
        if self.enabled:
            if device_kind == "cuda":  # the rank's GPU first: NCCL binds to the current device
                import torch

                index = self.local_rank % torch.cuda.device_count()
                torch.cuda.set_device(index)
                dist.init_process_group(backend="nccl", device_id=torch.device("cuda", index))
            else:
                dist.init_process_group(backend="gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def broadcast_flag(self, flag: bool, device: torch.device) -> bool:
        """Rank 0's decision, the same on every rank (early stopping)."""
        import torch
        import torch.distributed as dist

        value = torch.tensor([1 if flag else 0], dtype=torch.int64, device=device)
        if self.enabled:
            dist.broadcast(value, src=0)
        return bool(value.item())

    def close(self, *, clean: bool = True) -> None:
        """Leave the group; wait for the other ranks only after a clean run (after a failure
        they may never arrive, and torchrun stops them when this rank exits)."""
        import torch.distributed as dist

        if self.enabled and dist.is_initialized():
            if clean:
                dist.barrier()
            dist.destroy_process_group()


class ShardSampler:
    """Each rank's disjoint share of one per-epoch order, every rank the same length.

    Without weights: a permutation cut to a multiple of the world size (at most world-1 images
    sit out an epoch; DistributedSampler would pad with repeats instead). With weights: one draw
    with replacement of ``ceil(n / world) * world`` indices (torch's WeightedRandomSampler,
    distributed), so positions never overlap between ranks.
    """

    def __init__(
        self, n: int, *, rank: int, world: int, seed: int, weights: torch.Tensor | None = None
    ) -> None:
        self.n, self.rank, self.world, self.seed, self.weights = n, rank, world, seed, weights
        self.epoch = 0

    def order(self) -> torch.Tensor:
        import torch

        g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        if self.weights is not None:
            total = math.ceil(self.n / self.world) * self.world
            return torch.multinomial(self.weights, total, replacement=True, generator=g)
        return torch.randperm(self.n, generator=g)[: (self.n // self.world) * self.world]

    def __iter__(self) -> Iterator[int]:
        return iter(self.order()[self.rank :: self.world].tolist())

    def __len__(self) -> int:
        if self.weights is not None:
            return math.ceil(self.n / self.world)
        return self.n // self.world


# -- models ------------------------------------------------------------------------------------
def small_cnn(n_classes: int, *, width: int, dropout: float) -> nn.Module:
    """A VGG-like 6-conv network with batch norm: quick to train from scratch on small images."""
    from torch import nn

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.GELU()]

    w = width
    return nn.Sequential(
        *block(3, w),
        *block(w, w),
        nn.MaxPool2d(2),
        *block(w, 2 * w),
        *block(2 * w, 2 * w),
        nn.MaxPool2d(2),
        *block(2 * w, 4 * w),
        *block(4 * w, 4 * w),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(4 * w, n_classes),
    )


def build_model(args: argparse.Namespace, n_classes: int) -> nn.Module:
    if args.model == "small-cnn":
        return small_cnn(n_classes, width=args.width, dropout=args.dropout)
    import torch
    from torch import nn
    from torchvision import models

    try:
        model = models.get_model(args.model, weights=None)
    except ValueError as exc:
        raise RetrainError(f"unknown --model {args.model!r} ({exc})") from None
    if args.pretrained:
        model.load_state_dict(_cached_weights(args.model))
    # Replace the last linear layer (the head) by dropout + a layer for our classes.
    parent, attr, last = _last_linear(model)
    head = nn.Sequential(nn.Dropout(args.dropout), nn.Linear(last.in_features, n_classes))
    setattr(parent, attr, head)
    return model.to(torch.float32)


def _cached_weights(name: str) -> dict[str, torch.Tensor]:
    import torch
    from torchvision import models

    weights = models.get_model_weights(name).DEFAULT
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    if not path.is_file():
        raise RetrainError(
            f"pretrained weights for {name} are not on this machine ({path}); this script never "
            "downloads: copy the file there, or train from scratch (no --pretrained)"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def _last_linear(model: nn.Module) -> tuple[nn.Module, str, nn.Linear]:
    from torch import nn

    found = None
    for module in model.modules():
        for attr, child in module.named_children():
            if isinstance(child, nn.Linear):
                found = (module, attr, child)
    if found is None:
        raise RetrainError("the model has no linear head to replace")
    return found


# -- training ----------------------------------------------------------------------------------
def pick_device(kind: str, local_rank: int) -> torch.device:
    """The device for ``kind`` (cpu, cuda or mps; run() has resolved auto)."""
    import torch

    if kind == "cuda":
        if not torch.cuda.is_available():
            raise RetrainError("--device cuda: no CUDA device is available")
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if kind == "mps" and not torch.backends.mps.is_available():
        raise RetrainError("--device mps: MPS is not available")
    return torch.device(kind)


def autocast_dtype(args: argparse.Namespace, device: torch.device) -> torch.dtype | None:
    """bf16 where the device has it, fp16 on older GPUs; None = full precision."""
    import torch

    use = args.amp == "on" or (args.amp == "auto" and device.type == "cuda")
    if not use:
        return None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def make_optimizer(args: argparse.Namespace, model: nn.Module) -> torch.optim.Optimizer:
    import torch

    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]  # biases and norms: no decay
    groups = [
        {"params": decay, "weight_decay": args.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # fused: one kernel per step for all parameters on a GPU; the CPU keeps the reference loop
    fused = True if next(model.parameters()).device.type == "cuda" else None
    if args.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=args.lr, momentum=args.momentum, nesterov=True, fused=fused
        )
    return torch.optim.AdamW(groups, lr=args.lr, fused=fused)


def make_schedule(
    args: argparse.Namespace, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LR factor: linear warm-up for one epoch, then cosine to zero (or step/constant)."""
    import torch

    total = max(1, args.epochs * steps_per_epoch)
    warm = min(steps_per_epoch, total // 5) if args.schedule != "none" else 0

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if args.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
        if args.schedule == "step":
            return 0.1 ** ((step - warm) // max(1, (total - warm) // 3))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def loader_for(
    data: ImageList,
    indices: ShardSampler | list[int],
    args: argparse.Namespace,
    device: torch.device,
    *,
    train: bool,
    rank: int = 0,
) -> DataLoader[Item]:
    """Persistent workers (a loader is kept for the whole run, evaluation ones too); each rank's
    workers draw their own augmentations (seed + rank)."""
    import torch

    workers = args.workers
    batch = args.batch_size if train else max(args.batch_size, 256)  # no gradients: bigger
    return torch.utils.data.DataLoader(
        data,
        batch_size=batch,
        sampler=indices,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        drop_last=train and len(indices) > batch,  # no lone sample for batch norm
        generator=torch.Generator().manual_seed(args.seed + RANK_SEED_STRIDE * rank),
    )


RANK_SEED_STRIDE = 1_000_003  # rank r draws augmentations from seed + r * this (rank 0: seed)


def train_epoch(
    model: nn.Module,
    loader: DataLoader[Item],
    step: TrainStep,
    device: torch.device,
    args: argparse.Namespace,
) -> tuple[float, int, int]:
    """(loss sum, images, images predicted right) over one pass of augmented training batches."""
    import torch

    model.train()
    # summed on the device: a float() per step would wait for the GPU every step
    total = torch.zeros((), dtype=torch.float64, device=device)
    right = torch.zeros((), dtype=torch.int64, device=device)
    count = 0
    for x, y, _ in loader:
        x = x.to(device, non_blocking=True)
        if args.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=step.dtype, enabled=step.dtype is not None):
            out = model(x)
            loss = step.loss(out, y)
        step.optimizer.zero_grad(set_to_none=True)
        step.scaler.scale(loss).backward()
        step.scaler.step(step.optimizer)
        step.scaler.update()
        step.schedule.step()
        total += loss.detach().double() * y.shape[0]
        count += int(y.shape[0])
        right += (out.detach().argmax(dim=1) == y).sum()
    return float(total), count, int(right)


def eval_indices(n: int, dist: Dist) -> list[int]:
    """This rank's share of an evaluation set: every world-th image, no padding."""
    return list(range(dist.rank, n, dist.world))


def confusion_matrix(
    model: nn.Module,
    data: ImageList,
    dist: Dist,
    device: torch.device,
    args: argparse.Namespace,
    n_classes: int,
    dtype: torch.dtype | None,
    criterion: nn.Module | None = None,
    loader: DataLoader[Item] | None = None,
) -> tuple[torch.Tensor, float | None]:
    """(int64 (K, K) counts, rows = true class; mean ``criterion`` loss or None) over the whole
    set: each rank scores every world-th image (no DistributedSampler padding, so nothing is
    counted twice)."""
    import torch

    conf = torch.zeros(n_classes, n_classes, dtype=torch.int64, device=device)
    loss_sum = torch.zeros(1, dtype=torch.float64, device=device)
    indices = eval_indices(len(data), dist)
    if indices:
        model.eval()
        with torch.no_grad():
            batches = loader
            if batches is None:
                batches = loader_for(data, indices, args, device, train=False)
            for x, y, _ in batches:
                x = x.to(device, non_blocking=True)
                if args.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                y = y.to(device)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    out = model(x)
                    if criterion is not None:
                        loss_sum += criterion(out.float(), y).double() * y.shape[0]
                pred = out.argmax(dim=1)
                conf.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    conf = dist.all_sum(conf).cpu()
    total = float(dist.all_sum(loss_sum).cpu()[0])
    images = int(conf.sum())
    return conf, (total / images if criterion is not None and images else None)


def metrics(conf: torch.Tensor, classes: list[str]) -> dict[str, Any]:
    """Accuracy, macro accuracy (mean per-class recall over classes present), per class."""
    total = int(conf.sum())
    diag = conf.diag()
    support = conf.sum(dim=1)
    predicted = conf.sum(dim=0)
    per_class = {}
    recalls = []
    for k, name in enumerate(classes):
        s, p, d = int(support[k]), int(predicted[k]), int(diag[k])
        recall = d / s if s else None
        if recall is not None:
            recalls.append(recall)
        per_class[name] = {"support": s, "recall": recall, "precision": d / p if p else None}
    return {
        "images": total,
        "accuracy": int(diag.sum()) / total if total else None,
        "macro_accuracy": sum(recalls) / len(recalls) if recalls else None,
        "per_class": per_class,
        "confusion": conf.tolist(),
    }


def print_metrics(title: str, m: dict[str, Any], classes: list[str]) -> None:
    if not m["images"]:
        print(f"{title}: no images")
        return
    print(
        f"{title}: accuracy {m['accuracy']:.4f}, macro accuracy {m['macro_accuracy']:.4f} "
        f"({m['images']} images)"
    )
    width = max(8, *(len(c) for c in classes))
    print(f"  {'class':<{width}} {'support':>8} {'recall':>7} {'precision':>9}")
    for name, v in m["per_class"].items():
        r = "-" if v["recall"] is None else f"{v['recall']:.3f}"
        p = "-" if v["precision"] is None else f"{v['precision']:.3f}"
        print(f"  {name:<{width}} {v['support']:>8} {r:>7} {p:>9}")
    if len(classes) <= 20:
        print("  confusion matrix (rows: true class, columns: predicted)")
        cell = max(5, *(len(str(x)) for row in m["confusion"] for x in row))
        print("  " + " " * width + "".join(f"{k:>{cell + 1}}" for k in range(len(classes))))
        for k, row in enumerate(m["confusion"]):
            print(f"  {classes[k]:<{width}}" + "".join(f"{x:>{cell + 1}}" for x in row))


# -- the run -----------------------------------------------------------------------------------
def balancing_of(args: argparse.Namespace, provenance: dict[str, Any]) -> str:
    if args.balancing != "auto":
        return str(args.balancing)
    return str(provenance.get("rebalance", {}).get("retrain_balancing", "class_weights"))


def class_weight_list(root: Path, classes: list[str], labels: list[int]) -> list[float]:
    """w_k from class_weights.json, else n / (K * n_k) over the train labels."""
    try:
        stored = json.loads((root / "class_weights.json").read_text(encoding="utf-8"))
        return [float(stored[c]) for c in classes]
    except (OSError, ValueError, KeyError):
        counts = [labels.count(k) for k in range(len(classes))]
        present = sum(1 for c in counts if c)
        return [len(labels) / (present * c) if c else 0.0 for c in counts]


@dataclass(frozen=True)
class ExportData:
    """What a run reads from the export (and --eval-manifest) before any training."""

    root: Path
    classes: list[str]  # folder names in class-index order
    splits: dict[str, list[Sample]]  # train, val, test
    eval: list[Sample] | None  # the --eval-manifest set
    balancing: str  # class_weights, sampler or none


@dataclass
class Stage:
    """Where a Ctrl-C would land, in words (for its one-line message)."""

    where: str = "while loading the images"


@dataclass
class TrainStep:
    """One optimisation step's parts: precision, loss, optimizer, gradient scaler, schedule."""

    dtype: torch.dtype | None  # autocast dtype; None = full precision
    loss: nn.CrossEntropyLoss
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    schedule: torch.optim.lr_scheduler.LambdaLR


@dataclass
class Best:
    """The best epoch so far (1-based; 0 = the initial weights), its val score and weights."""

    epoch: int
    score: float
    state: dict[str, torch.Tensor]


def prepare(args: argparse.Namespace) -> ExportData:
    """Read the export: classes, samples per split, the evaluation set, balancing."""
    root = Path(args.dir)
    if not root.is_dir():
        raise RetrainError(f"no export folder at {root}")
    classes = read_classes(root)
    prov = read_provenance(root)
    splits = load_splits(root, classes)
    if not splits["train"]:
        raise RetrainError(f"{root} has no training images")
    extra = None
    if args.eval_manifest:
        extra = manifest_samples(
            Path(args.eval_manifest), classes, split=None, aliases=class_aliases(prov)
        )
    return ExportData(root, classes, splits, extra, balancing_of(args, prov))


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    info = prepare(args)
    kind = args.device
    if kind == "auto":  # resolved once: the process group and the device follow it
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    dist = Dist(kind)
    stage = Stage()
    clean = False
    try:
        trainer = Trainer(args, info, dist, pick_device(kind, dist.local_rank), stage)
        result = trainer.run()
        clean = True
        return result
    except KeyboardInterrupt:
        saved = f"{args.save} not written" if args.save else "no model saved (no --save)"
        raise RetrainInterrupted(f"interrupted {stage.where}; {saved}") from None
    finally:
        dist.close(clean=clean)


class Trainer:
    """One training run: data, model (DDP-wrapped when distributed), optimisation, scoring."""

    def __init__(
        self,
        args: argparse.Namespace,
        info: ExportData,
        dist: Dist,
        device: torch.device,
        stage: Stage | None = None,
    ) -> None:
        import torch

        self.args, self.info, self.dist, self.device = args, info, dist, device
        self.stage = stage if stage is not None else Stage()
        self.classes = info.classes
        cpus = os.cpu_count() or 1
        if device.type == "cpu" and dist.world > 1:
            torch.set_num_threads(max(1, cpus // dist.local_world))  # ranks share the cores
        if args.threads:
            torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        self.data, cached = self._datasets(cpus)
        self._resolve_defaults(cpus, cached=cached)
        self.model = build_model(args, len(self.classes)).to(device)
        if args.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ddp = self.model
        if dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.ddp = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if dist.rank:  # the same initial weights (DDP broadcasts rank 0's), other augmentations
            torch.manual_seed(args.seed + RANK_SEED_STRIDE * dist.rank)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input sizes: autotuned kernels pay
        self._eval_loaders: dict[str, DataLoader[Item] | None] = {}
        self._optimisation()

    def _resolve_defaults(self, cpus: int, *, cached: bool) -> None:
        """The defaults that depend on the data and the machine, resolved once into ``args``
        (apply_defaults resolved those that depend on the options alone)."""
        args, dist = self.args, self.dist
        if args.batch_size is None:  # small sets get smaller batches, so enough steps happen
            per_rank = len(self.data["train"]) // dist.world
            args.batch_size = int(
                min(128, max(16, 2 ** math.floor(math.log2(max(per_rank, 1) / 16 + 1))))
            )
        if args.workers is None:
            on_gpu = self.device.type == "cuda"
            args.workers = min(8, cpus // dist.local_world) if on_gpu else (0 if cached else 2)

    def _datasets(self, cpus: int) -> tuple[dict[str, ImageList], bool]:
        args, splits = self.args, self.info.splits
        self.size = args.image_size or guess_image_size(splits["train"])
        self.mean, self.std = (MEAN, STD) if args.pretrained else ((0.5,) * 3, (0.5,) * 3)
        norm = {"mean": self.mean, "std": self.std}
        train_tf = transforms(self.size, augment=args.augment, orientation=args.orientation, **norm)
        eval_tf = transforms(self.size, augment=False, orientation=False, **norm)
        data = {s: ImageList(splits[s], self.size, eval_tf) for s in SPLITS}
        data["train"].transform = train_tf
        if self.info.eval is not None:
            data["eval"] = ImageList(self.info.eval, self.size, eval_tf)
        total_bytes = sum(len(d) for d in data.values()) * 3 * self.size**2
        cache = args.cache == "on" or (args.cache == "auto" and total_bytes < 4 << 30)
        if cache:
            for d in data.values():
                d.fill_cache(min(16, cpus))
        return data, cache

    def _optimisation(self) -> None:
        import torch

        args, dist, train = self.args, self.dist, self.data["train"]
        balancing = self.info.balancing
        weights = torch.tensor(
            class_weight_list(self.info.root, self.classes, train.labels), dtype=torch.float32
        )
        per_sample = weights[torch.tensor(train.labels)].double()
        self.sampler = ShardSampler(
            len(train),
            rank=dist.rank,
            world=dist.world,
            seed=args.seed,
            weights=per_sample if balancing == "sampler" else None,
        )
        self.loader = loader_for(train, self.sampler, args, self.device, train=True, rank=dist.rank)
        self.dtype = autocast_dtype(args, self.device)
        loss_weight = weights.to(self.device) if balancing == "class_weights" else None
        optimizer = make_optimizer(args, self.ddp)
        self.step = TrainStep(
            dtype=self.dtype,
            loss=torch.nn.CrossEntropyLoss(
                weight=loss_weight, label_smoothing=args.label_smoothing
            ),
            optimizer=optimizer,
            scaler=torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16),
            schedule=make_schedule(args, optimizer, max(1, len(self.loader))),
        )

    def score(self, name: str) -> dict[str, Any]:
        if name not in self._eval_loaders:  # one per split: its workers live for the whole run
            indices = eval_indices(len(self.data[name]), self.dist)
            self._eval_loaders[name] = (
                loader_for(self.data[name], indices, self.args, self.device, train=False)
                if indices
                else None
            )
        conf, loss = confusion_matrix(
            self.model,
            self.data[name],
            self.dist,
            self.device,
            self.args,
            len(self.classes),
            self.dtype,
            criterion=self.step.loss,  # the training loss, so the two curves compare
            loader=self._eval_loaders[name],
        )
        return {**metrics(conf, self.classes), "loss": loss}

    def run(self) -> dict[str, Any]:

        history, best = self.fit()
        self.stage.where = "after training, while scoring"
        self.model.load_state_dict(best.state)
        result = {
            "export": str(self.info.root),
            "classes": self.classes,
            "device": str(self.device),
            "world_size": self.dist.world,
            "image_size": self.size,
            "balancing": self.info.balancing,
            "best_epoch": best.epoch,
            "epochs_run": len(history),
            "selected_on": "val" if len(self.data["val"]) else "last epoch (no val images)",
            "history": history,
            "images_per_s": _throughput(history),
            "args": dict(vars(self.args)),
        }
        for name in ("val", "test", "eval"):
            if name in self.data and len(self.data[name]):
                result[name] = self.score(name)  # every rank takes part
        if self.dist.main:
            _print_result(result, self.classes, self.args)
            write_history(result, self.data["train"].labels, self.args)
            if self.args.save:
                self.stage.where = "while saving the model"
                bundle = {
                    "state_dict": best.state,
                    "classes": self.classes,
                    "model": self.args.model,
                    "image_size": self.size,
                    "mean": self.mean,
                    "std": self.std,
                }
                _save_atomically(bundle, Path(self.args.save))
        return result

    def fit(self) -> tuple[list[dict[str, Any]], Best]:
        """Train with early stopping on the validation score; keep the best epoch's weights."""
        args, dist = self.args, self.dist
        history: list[dict[str, Any]] = []
        best = Best(epoch=0, score=-math.inf, state=_snapshot(self.model))
        has_val = len(self.data["val"]) > 0
        waited = 0
        for epoch in range(args.epochs):
            self.stage.where = f"at epoch {epoch + 1} of {args.epochs}"
            self.sampler.epoch = epoch
            if epoch == 0 and args.dump_shards:
                _dump_shards(args.dump_shards, self.sampler, dist, len(self.data["val"]))
            entry = self._epoch(epoch)
            score = float(epoch)  # no validation images: the last epoch is kept
            if has_val:
                m = self.score("val")
                entry.update(
                    val_loss=m["loss"],
                    val_accuracy=m["accuracy"],
                    val_macro_accuracy=m["macro_accuracy"],
                )
                score = m["accuracy"] if args.select == "accuracy" else m["macro_accuracy"]
            if score > best.score:
                best, waited = Best(epoch + 1, score, _snapshot(self.model)), 0
            else:
                waited += 1
            history.append(entry)
            if dist.main and not args.quiet:
                _print_epoch(entry, args.epochs)
            wants_stop = has_val and args.patience > 0 and waited >= args.patience
            if dist.broadcast_flag(wants_stop, self.device):  # all ranks stop at the same epoch
                break
        if args.dump_shards:
            stop = {"rank": dist.rank, "epochs_run": len(history), "best_epoch": best.epoch}
            (Path(args.dump_shards) / f"stop_rank{dist.rank}.json").write_text(json.dumps(stop))
        return history, best

    def _epoch(self, epoch: int) -> dict[str, Any]:
        import torch

        start = time.perf_counter()
        loss_sum, count, right = train_epoch(
            self.ddp, self.loader, self.step, self.device, self.args
        )
        seconds = time.perf_counter() - start
        totals = self.dist.all_sum(
            torch.tensor(
                [loss_sum, float(count), float(right)], dtype=torch.float64, device=self.device
            )
        )
        loss_total, images, right_total = (float(t) for t in totals)
        return {
            "epoch": epoch + 1,
            "loss": loss_total / max(images, 1.0),
            "train_accuracy": right_total / max(images, 1.0),
            "images": int(images),
            "seconds": round(seconds, 3),
        }


HISTORY_FILE = "retrain_history.json"
HISTORY_FORMAT = "labelaudit-retrain-history/1"


def history_record(result: dict[str, Any], train_labels: list[int]) -> dict[str, Any]:
    """What ``labelaudit report`` draws: per epoch train/val loss and accuracy, and the final
    per-class recall (val, test, held-out set) beside each class's number of train images."""
    classes = result["classes"]
    final = {}
    for name in ("val", "test", "eval"):
        if name in result:
            m = result[name]
            final[name] = {
                "images": m["images"],
                "accuracy": m["accuracy"],
                "macro_accuracy": m["macro_accuracy"],
                "loss": m.get("loss"),
                "recall": {c: v["recall"] for c, v in m["per_class"].items()},
            }
    args = result["args"]
    return {
        "format": HISTORY_FORMAT,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "export": result["export"],
        "export_created_at": read_provenance(Path(result["export"])).get("created_at"),
        "model": args.get("model"),
        "image_size": result["image_size"],
        "balancing": result["balancing"],
        "label_smoothing": args.get("label_smoothing"),
        "augment": args.get("augment"),
        "best_epoch": result["best_epoch"],
        "selected_on": result["selected_on"],
        "train_images": {c: train_labels.count(k) for k, c in enumerate(classes)},
        # train_* are measured on the augmented batches as trained; val_* without augmentation
        "epochs": [
            {
                "epoch": e["epoch"],
                "train_loss": e["loss"],
                "train_accuracy": e.get("train_accuracy"),
                "val_loss": e.get("val_loss"),
                "val_accuracy": e.get("val_accuracy"),
                "val_macro_accuracy": e.get("val_macro_accuracy"),
                "seconds": e["seconds"],
            }
            for e in result["history"]
        ],
        "final": final,
    }


def write_history(
    result: dict[str, Any], train_labels: list[int], args: argparse.Namespace
) -> None:
    """DIR/retrain_history.json (or --history FILE), written atomically; a read-only export
    costs a warning, not the training."""
    path = Path(args.history) if args.history else Path(result["export"]) / HISTORY_FILE
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        text = json.dumps(history_record(result, train_labels), indent=2) + "\n"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        print(
            f"retrain: warning: history not written to {path}: {exc.strerror or exc}",
            file=sys.stderr,
        )


def _print_epoch(entry: dict[str, Any], epochs: int) -> None:
    val = ""
    if "val_accuracy" in entry:
        val = f", val acc {entry['val_accuracy']:.4f} macro {entry['val_macro_accuracy']:.4f}"
    rate = entry["images"] / max(entry["seconds"], 1e-9)
    print(f"epoch {entry['epoch']}/{epochs}: loss {entry['loss']:.4f}{val} ({rate:.0f} im/s)")
    sys.stdout.flush()


def _save_atomically(bundle: dict[str, Any], path: Path) -> None:
    """torch.save to a temporary file renamed into place: an interrupted save leaves no
    half-written model behind."""
    import torch

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(bundle, tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RetrainError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _dump_shards(folder: str, sampler: ShardSampler, dist: Dist, n_val: int) -> None:
    """What this rank trains on in the first epoch (the order all ranks share, and the indices
    its loader draws) and which validation images it scores: for the torchrun test."""
    order = sampler.order().tolist()
    drawn = list(iter(sampler))
    record = {
        "rank": dist.rank,
        "world": dist.world,
        "order": order,
        "train_indices": drawn,
        "train_positions": list(range(dist.rank, len(order), dist.world)),
        "eval_indices": eval_indices(n_val, dist),
    }
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"shard_rank{dist.rank}.json").write_text(json.dumps(record), encoding="utf-8")


def _throughput(history: list[dict[str, Any]]) -> float | None:
    """Training images per second, all ranks together (the first epoch warms up, if others)."""
    rows = history[1:] if len(history) > 1 else history
    seconds = sum(r["seconds"] for r in rows)
    return round(sum(r["images"] for r in rows) / seconds, 1) if seconds > 0 else None


def _print_result(result: dict[str, Any], classes: list[str], args: argparse.Namespace) -> None:
    kept = f"best epoch {result['best_epoch']} of {result['epochs_run']}"
    if "val" not in result:  # nothing to select on: say so rather than pretend
        n = result["epochs_run"]
        kept = f"no val split to select on, so the last epoch ({n} of {n}) is kept,"
    print(
        f"{kept} on {result['device']} x{result['world_size']}, "
        f"{result['images_per_s']} training images/s, balancing: {result['balancing']}"
    )
    titles = {"val": "validation", "test": "test", "eval": f"held-out set {args.eval_manifest}"}
    for name, title in titles.items():
        if name in result:
            print_metrics(title, result[name], classes)
    if "test" not in result:
        print(
            "no test split to score: no test accuracy"
            + ("" if "eval" in result else " (score a held-out set with --eval-manifest)")
        )
    if args.report:
        Path(args.report).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


# -- command line ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="retrain.py",
        description="Train a classifier on a labelaudit export (DIR/train), select on DIR/val, "
        "report DIR/test (and --eval-manifest) accuracy overall and per class.",
    )
    p.add_argument("dir", metavar="DIR", help="the export folder")
    _model_options(p)
    _training_options(p)
    _data_options(p)
    _hardware_and_output_options(p)
    return p


def _model_options(p: argparse.ArgumentParser) -> None:
    m = p.add_argument_group("model")
    m.add_argument(
        "--model",
        default="small-cnn",
        help="small-cnn (default) or a torchvision model name (resnet18, ...)",
    )
    m.add_argument("--width", type=int, default=64, help="small-cnn width (default 64)")
    m.add_argument(
        "--pretrained",
        action="store_true",
        help="start from torchvision weights already in torch's cache (never downloaded)",
    )
    m.add_argument(
        "--dropout", type=float, default=0.2, help="dropout before the head (default 0.2)"
    )


def _training_options(p: argparse.ArgumentParser) -> None:
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=30, help="at most this many epochs (default 30)")
    t.add_argument(
        "--patience",
        type=int,
        default=8,
        help="stop after this many epochs without a better val score; 0: never (default 8)",
    )
    t.add_argument(
        "--select",
        choices=("accuracy", "macro"),
        default="accuracy",
        help="val score that picks the best epoch (default accuracy)",
    )
    t.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="per process (default: 128, smaller for small sets: a power of two near n/16, >= 16)",
    )
    t.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    t.add_argument(
        "--lr", type=float, default=None, help="peak learning rate (default: adamw 2e-3, sgd 0.05)"
    )
    t.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (Nesterov)")
    t.add_argument("--weight-decay", type=float, default=None, help="default: adamw 0.05, sgd 5e-4")
    t.add_argument("--label-smoothing", type=float, default=0.1)
    t.add_argument(
        "--schedule",
        choices=("cosine", "step", "none"),
        default="cosine",
        help="after one warm-up epoch",
    )
    t.add_argument(
        "--balancing",
        choices=("auto", "class_weights", "sampler", "none"),
        default="auto",
        help="how to correct class imbalance; auto: what provenance.json says",
    )
    t.add_argument("--seed", type=int, default=0)


def _data_options(p: argparse.ArgumentParser) -> None:
    d = p.add_argument_group("data")
    d.add_argument(
        "--image-size", type=int, default=None, help="default: the median shorter side, 32..224"
    )
    d.add_argument("--no-augment", dest="augment", action="store_false", help="no augmentation")
    d.add_argument(
        "--keep-orientation",
        dest="orientation",
        action="store_false",
        help="no flips or rotations (for classes where orientation matters: digits, text, arrows)",
    )
    d.add_argument(
        "--eval-manifest",
        metavar="CSV",
        help="also score on a held-out set: a CSV with path,label (paths relative to the CSV)",
    )
    d.add_argument(
        "--cache",
        choices=("auto", "on", "off"),
        default="auto",
        help="decode every image once into memory (auto: when under 4 GiB)",
    )
    d.add_argument(
        "--workers",
        type=int,
        default=None,
        help="DataLoader workers per process (default: 8 on GPU, 0-2 on CPU)",
    )


def _hardware_and_output_options(p: argparse.ArgumentParser) -> None:
    h = p.add_argument_group("hardware")
    h.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    h.add_argument(
        "--amp",
        choices=("auto", "on", "off"),
        default="auto",
        help="mixed precision (bf16, or fp16 on older GPUs); auto: on GPU only",
    )
    h.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    h.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    o = p.add_argument_group("output")
    o.add_argument("--report", metavar="FILE.json", help="write the full report as JSON")
    o.add_argument("--save", metavar="FILE.pt", help="save the best model's state_dict")
    o.add_argument(
        "--history",
        metavar="FILE.json",
        help=f"where to write the training history (default DIR/{HISTORY_FILE}, which "
        "'labelaudit report' reads)",
    )
    o.add_argument("--dump-shards", metavar="DIR", help=argparse.SUPPRESS)
    o.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def apply_defaults(args: argparse.Namespace) -> None:
    if args.lr is None:
        args.lr = 0.05 if args.optimizer == "sgd" else 2e-3
    if args.weight_decay is None:
        args.weight_decay = 5e-4 if args.optimizer == "sgd" else 0.05
    for name in ("epochs", "batch_size", "width", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise RetrainError(f"--{name.replace('_', '-')} must be at least 1")
    if args.workers is not None and args.workers < 0:
        raise RetrainError("--workers must be at least 0")
    if not 0 <= args.dropout < 1 or not 0 <= args.label_smoothing < 1:
        raise RetrainError("--dropout and --label-smoothing must be in [0, 1)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        apply_defaults(args)
        run(args)
    except RetrainError as exc:
        print(f"retrain: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"retrain: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
