"""Network definitions and weight loading (imports torch at module level: import it lazily).

``SmallCNN`` follows the design of Keller Jordan's airbench CIFAR-10 speed runs: a 2x2 conv whose
frozen weights whiten image patches, three groups of (conv, max-pool, batch-norm, GELU, conv,
batch-norm, GELU) with identity-initialised convs, global max pooling and a scaled linear head.
Torchvision backbones keep their body and get a fresh linear head of K classes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch  # noqa: TID253 (a lazily imported module)
from torch import nn  # noqa: TID253 (a lazily imported module)

from labelaudit.core.errors import InputError
from labelaudit.core.scan.models import MODELS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class _BatchNorm(nn.BatchNorm2d):
    """Batch norm with a frozen scale (only the shift learns) and a fast-moving running average."""

    def __init__(self, features: int, *, momentum: float = 0.4) -> None:
        super().__init__(features, eps=1e-12, momentum=momentum)
        self.weight.requires_grad = False


class _Conv(nn.Conv2d):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(c_in, c_out, kernel_size=3, padding=1, bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        # identity on the first c_in channels: the group starts close to a residual path
        nn.init.dirac_(self.weight.data[: self.weight.size(1)])


class _ConvGroup(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = _Conv(c_in, c_out)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = _BatchNorm(c_out)
        self.conv2 = _Conv(c_out, c_out)
        self.norm2 = _BatchNorm(c_out)
        self.activ = nn.GELU()

    def forward(self, x: Any) -> Any:
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class SmallCNN(nn.Module):
    """Input (B, C, H, W) normalised floats; ``features`` (B, widths[-1]); logits (B, K)."""

    def __init__(self, in_channels: int, n_classes: int, widths: tuple[int, int, int]) -> None:
        super().__init__()
        whiten_width = 2 * in_channels * 4
        self.whiten = nn.Conv2d(in_channels, whiten_width, kernel_size=2, padding=0, bias=True)
        self.whiten.weight.requires_grad = False
        self.activ = nn.GELU()
        self.group1 = _ConvGroup(whiten_width, widths[0])
        self.group2 = _ConvGroup(widths[0], widths[1])
        self.group3 = _ConvGroup(widths[1], widths[2])
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.head = nn.Linear(widths[2], n_classes, bias=False)
        self.logit_scale = 1 / 9

    def features(self, x: Any) -> Any:
        x = self.activ(self.whiten(x))
        x = self.group3(self.group2(self.group1(x)))
        return self.pool(x).flatten(1)

    def forward(self, x: Any) -> Any:
        return self.head(self.features(x)) * self.logit_scale

    @torch.no_grad()
    def init_whitening(self, images: Any, *, eps: float = 5e-4) -> None:
        """Set the first layer to the eigenvectors of the 2x2 patch covariance (and negatives)."""
        c = images.shape[1]
        patches = images.float().unfold(2, 2, 1).unfold(3, 2, 1)
        patches = patches.transpose(1, 3).reshape(-1, c, 2, 2)
        flat = patches.reshape(patches.shape[0], -1)
        flat = flat - flat.mean(0, keepdim=True)
        covariance = flat.T @ flat / flat.shape[0]
        values, vectors = torch.linalg.eigh(covariance.double())
        vectors = vectors.T.reshape(-1, c, 2, 2).flip(0).float()
        scaled = vectors / torch.sqrt(values.flip(0).float().clamp_min(0) + eps).view(-1, 1, 1, 1)
        self.whiten.weight.copy_(torch.cat((scaled, -scaled)))
        assert self.whiten.bias is not None
        self.whiten.bias.zero_()


class Backbone(nn.Module):
    """A torchvision body (its head replaced by identity) plus a linear head of K classes."""

    def __init__(self, body: nn.Module, feature_dim: int, n_classes: int, in_channels: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Linear(feature_dim, n_classes)
        self.repeat_gray = in_channels == 1

    def features(self, x: Any) -> Any:
        if self.repeat_gray:
            x = x.expand(-1, 3, -1, -1)
        return self.body(x)

    def forward(self, x: Any) -> Any:
        return self.head(self.features(x))


def build_model(
    name: str,
    *,
    n_classes: int,
    in_channels: int,
    widths: tuple[int, int, int] = (64, 128, 256),
    state_dict: dict[str, Any] | None = None,
) -> nn.Module:
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}")
    if not MODELS[name].pretrainable:
        return SmallCNN(in_channels, n_classes, widths)
    body = torchvision_body(name)
    if state_dict is not None:
        load_body_weights(name, body, state_dict)
    feature_dim = _strip_head(name, body)
    return Backbone(body, feature_dim, n_classes, in_channels)


def torchvision_body(name: str) -> nn.Module:
    import torchvision

    return torchvision.models.get_model(name, weights=None)


def _strip_head(name: str, body: Any) -> int:
    """Replace the classifier by identity; return the feature size it consumed."""
    if name.startswith("resnet"):
        dim = int(body.fc.in_features)
        body.fc = nn.Identity()
        return dim
    first_linear = next(m for m in body.classifier.modules() if isinstance(m, nn.Linear))
    body.classifier = nn.Identity()
    return int(first_linear.in_features)


def read_state_dict(path: Path) -> dict[str, Any]:
    """A state_dict saved with ``torch.save`` (bare, or under "state_dict"/"model" keys)."""
    if not path.is_file():
        raise InputError(f"--weights: no such file: {path}")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean "not a state_dict"
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise InputError(f"--weights: {path} is not a torch state_dict ({first[:160]})") from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict) or not all(torch.is_tensor(v) for v in loaded.values()):
        raise InputError(f"--weights: {path} is not a torch state_dict of tensors")
    return {k.removeprefix("module."): v for k, v in loaded.items()}


def weights_mismatch(name: str, state_dict: dict[str, Any]) -> str | None:
    """Why ``state_dict`` does not fit architecture ``name`` (head layers ignored), or None."""
    heads = MODELS[name].head_prefixes
    expected = {
        k: v.shape
        for k, v in torchvision_body(name).state_dict().items()
        if not k.startswith(heads)
    }
    given = {k: v.shape for k, v in state_dict.items() if not k.startswith(heads)}
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    wrong = sorted(k for k in set(expected) & set(given) if expected[k] != given[k])
    if not (missing or unexpected or wrong):
        return None
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing layers (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected layers (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        parts.append(
            f"{len(wrong)} of another shape (e.g. {k}: {tuple(given[k])} vs {tuple(expected[k])})"
        )
    return ", ".join(parts)


def load_body_weights(name: str, body: nn.Module, state_dict: dict[str, Any]) -> None:
    heads = MODELS[name].head_prefixes
    own = body.state_dict()
    merged = {k: (own[k] if k.startswith(heads) else state_dict[k]) for k in own}
    body.load_state_dict(merged, strict=True)
