"""The models a scan can train, described without importing torch.

``small-cnn`` is trained from scratch in every fold (an airbench-style network: whitened first
layer, three conv groups, EMA of weights). The torchvision backbones are fine-tuned in every fold,
or, with ``linear_probe``, frozen: they compute embeddings once and a logistic regression is
cross-validated on them. Pretrained weights come from torchvision's cache or ``--weights``; they are
looked up as files, never through torchvision's weights API, which would download.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SMALL_CNN = "small-cnn"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    pretrainable: bool  # a torchvision backbone that can start from ImageNet weights
    min_image_size: int  # px; below it the network's feature map collapses
    head_prefixes: tuple[str, ...]  # state_dict keys of the classifier head, replaced per scan
    cpu_image_size: int  # default --image-size when fine-tuning on a CPU
    gpu_image_size: int  # default --image-size on a GPU and for a linear probe


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(SMALL_CNN, False, 16, (), 32, 32),
        ModelSpec("resnet18", True, 32, ("fc.",), 128, 224),
        ModelSpec("resnet34", True, 32, ("fc.",), 128, 224),
        ModelSpec("resnet50", True, 32, ("fc.",), 128, 224),
        ModelSpec("mobilenet_v3_small", True, 32, ("classifier.",), 128, 224),
        ModelSpec("mobilenet_v3_large", True, 32, ("classifier.",), 128, 224),
        ModelSpec("efficientnet_b0", True, 32, ("classifier.",), 128, 224),
    )
}
BACKBONES = tuple(name for name, spec in MODELS.items() if spec.pretrainable)
# The backbone ``auto`` uses when its weights are in torchvision's cache (cheap on a CPU).
AUTO_BACKBONES = ("resnet18", "mobilenet_v3_small", "efficientnet_b0", "resnet50")


def small_cnn_widths(n_images: int, *, on_gpu: bool) -> tuple[int, int, int]:
    """Channel widths of small-cnn's three conv groups.

    On a GPU, airbench94's 64-256-256. On a CPU, measured on one CIFAR-10 fold (8,000 training
    photos, 16 epochs): 32-64-128 reached 78.2% in 78-97 CPU-s, 48-96-192 79.5% in 139 s and
    64-128-256 79.3% in 232 s; narrow nets trained longer give the most accuracy per CPU-second,
    and small datasets cannot use the extra width anyway.
    """
    if on_gpu:
        return (64, 256, 256)
    return (32, 64, 128) if n_images < 5000 else (48, 96, 192)


def model_names() -> str:
    return ", ".join(["auto", *MODELS])


def torch_hub_checkpoints() -> Path:
    """torchvision's download cache (``torch.hub.get_dir()/checkpoints``), honouring TORCH_HOME."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def weight_file_names(name: str) -> list[str]:
    """File names torchvision gives the ImageNet weights of ``name`` (every published version).

    Reading the enum's URL downloads nothing; only ``get_state_dict`` would.
    """
    import torchvision

    try:
        enum = torchvision.models.get_model_weights(name)
    except (ValueError, KeyError):
        return []
    names: list[str] = []
    default = getattr(enum, "DEFAULT", None)
    ordered = [default, *list(enum)] if default is not None else list(enum)
    for weights in ordered:
        file_name = os.path.basename(str(weights.url))
        if file_name not in names:
            names.append(file_name)
    return names


def cached_weights(name: str) -> Path | None:
    """A pretrained weights file for ``name`` already in torchvision's cache, or None."""
    folder = torch_hub_checkpoints()
    for file_name in weight_file_names(name):
        candidate = folder / file_name
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None
