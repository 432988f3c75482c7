"""Training and prediction from in-memory uint8 tensors (imports torch: import it lazily).

Augmentation is vectorised on whole batches (random shifts with reflection padding, opt-in
mirroring), so no per-image Python runs in the training loop. ``small-cnn`` trains with the
airbench recipe: Nesterov SGD with decoupled hyperparameters, a triangular learning-rate
schedule, label smoothing, a briefly trained whitening bias and a lookahead EMA of the weights.
Backbones fine-tune with AdamW, warm-up and linear decay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch  # noqa: TID253 (a lazily imported module)
import torch.nn.functional as F  # noqa: TID253 (a lazily imported module)
from torch import nn  # noqa: TID253 (a lazily imported module)

from labelaudit.core.scan._torch_models import SmallCNN

OnBatch = Callable[[int, int], None]  # (images in the batch, epoch index)


@dataclass(frozen=True)
class Plan:
    """Everything that decides how one network trains and predicts. ``mean``/``std`` empty:
    measured from the images by ``Data`` (per channel, on the device that holds them)."""

    epochs: int
    batch_size: int
    device: Any  # torch.device
    bf16: bool  # autocast to bfloat16
    channels_last: bool
    flip: bool
    tta: bool
    shift: int  # max random translation in pixels
    mean: tuple[float, ...]
    std: tuple[float, ...]
    pretrained: bool  # a backbone that starts from ImageNet weights (gentler learning rates)


class Data:
    """uint8 images (N, C, H, W), normalised per batch on the training device.

    On a GPU the images live in GPU memory when they take under a quarter of it (CIFAR-10's
    60,000 take 184 MB); otherwise they stay in pinned host memory and each batch is copied
    asynchronously.
    """

    def __init__(self, images: np.ndarray, plan: Plan) -> None:
        tensor = torch.from_numpy(images)
        if plan.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(plan.device)
            tensor = tensor.pin_memory()
            if images.nbytes < free / 4:
                tensor = tensor.to(plan.device, non_blocking=True)
        elif plan.device.type != "cpu":
            tensor = tensor.to(plan.device)
        self.images = tensor
        if not plan.mean:
            mean_, std_ = channel_stats(tensor)
            plan = replace(plan, mean=mean_, std=std_)
        self.plan = plan
        c = images.shape[1]
        mean = torch.tensor(plan.mean[:c], dtype=torch.float32, device=plan.device)
        std = torch.tensor(plan.std[:c], dtype=torch.float32, device=plan.device)
        self._mean = mean.view(1, c, 1, 1) * 255
        self._inv_std = 1 / (std.view(1, c, 1, 1) * 255)

    def batch(self, index: Any, *, layout: bool = True) -> Any:
        pixels = self.images[index.to(self.images.device)]
        # by type: torch.device("cuda") != torch.device("cuda:0"), and a GPU tensor can't be pinned
        if pixels.device.type == "cpu" and self.plan.device.type != "cpu":
            pixels = pixels.pin_memory().to(self.plan.device, non_blocking=True)
        x = (pixels.float() - self._mean) * self._inv_std
        return self.layout(x) if layout else x

    def layout(self, x: Any) -> Any:
        return x.contiguous(memory_format=torch.channels_last) if self.plan.channels_last else x


def channel_stats(images: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (in 0..1, std at least 1e-3) of uint8 images (N, C, H, W).

    From a 256-bin histogram per channel, counted where the images are (on the GPU when they
    live there): exact integer counts, no float copy of the images (60,000 CIFAR-10 photos took
    5.5 s and 1.5 GB of float64 temporaries the direct way).
    """
    counts = torch.stack(
        [torch.bincount(images[:, c].reshape(-1), minlength=256) for c in range(images.shape[1])]
    )
    hist = counts.cpu().numpy().astype(np.float64)  # (C, 256): one small copy per scan
    values = np.arange(256, dtype=np.float64)
    n = hist.sum(axis=1)
    mean = hist @ values / n
    var = (hist * (values[None, :] - mean[:, None]) ** 2).sum(axis=1) / n
    return (
        tuple(float(m) / 255 for m in mean),
        tuple(max(float(s) / 255, 1e-3) for s in np.sqrt(var)),
    )


def autocast(plan: Plan) -> Any:
    return torch.autocast(plan.device.type, dtype=torch.bfloat16, enabled=plan.bf16)


# -- augmentation ------------------------------------------------------------------------------
def random_shift(x: Any, r: int, gen: Any) -> Any:
    """Translate each image by up to ``r`` px in each axis (reflection padding).

    One gather over the padded batch: no per-shift masks, so no host-device syncs on a GPU.
    """
    if r <= 0:
        return x
    b, c, h, w = x.shape
    padded = F.pad(x, (r, r, r, r), mode="reflect")
    dy = torch.randint(0, 2 * r + 1, (b,), generator=gen, device=gen.device).to(x.device)
    dx = torch.randint(0, 2 * r + 1, (b,), generator=gen, device=gen.device).to(x.device)
    rows = (dy.view(b, 1, 1, 1) + torch.arange(h, device=x.device).view(1, 1, h, 1)).expand(
        b, c, h, w
    )
    cols = (dx.view(b, 1, 1, 1) + torch.arange(w, device=x.device).view(1, 1, 1, w)).expand(
        b, c, h, w
    )
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1).expand(b, c, h, w)
    channel = torch.arange(c, device=x.device).view(1, c, 1, 1).expand(b, c, h, w)
    return padded[batch, channel, rows, cols]


def random_flip(x: Any, gen: Any) -> Any:
    mask = torch.rand(x.shape[0], generator=gen, device=gen.device) < 0.5
    mask = mask.to(x.device).view(-1, 1, 1, 1)
    return torch.where(mask, x.flip(-1), x)


# -- optimisation ------------------------------------------------------------------------------
class _Recipe:
    """Optimizer, schedule and per-step hooks for one family of networks."""

    label_smoothing = 0.2

    def __init__(self, model: nn.Module, plan: Plan, total_steps: int) -> None:
        self.model = model
        self.plan = plan
        self.total_steps = max(total_steps, 1)
        self.optimizer = self._optimizer()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.lr_factor)

    def _optimizer(self) -> Any:
        raise NotImplementedError

    def lr_factor(self, step: int) -> float:
        raise NotImplementedError

    def loss(self, logits: Any, labels: Any) -> Any:
        return F.cross_entropy(logits.float(), labels, label_smoothing=self.label_smoothing)

    def start_epoch(self, epoch: int) -> None:
        pass

    def after_step(self, step: int) -> None:
        pass

    def finish_epoch(self) -> None:
        pass


class AirbenchRecipe(_Recipe):
    """airbench94's hyperparameters, decoupled from batch size (lr and wd per 1,024 examples)."""

    lr, momentum, weight_decay, bias_scaler = 11.5, 0.85, 0.0153, 64.0
    ema_start, ema_every, ema_base, ema_power = 0.3, 5, 0.95, 3.0

    def _optimizer(self) -> Any:
        kilostep = 1024 * (1 + 1 / (1 - self.momentum))
        lr = self.lr / kilostep
        wd = self.weight_decay * self.plan.batch_size / kilostep
        named = [(k, p) for k, p in self.model.named_parameters() if p.requires_grad]
        norm = [p for k, p in named if "norm" in k]
        other = [p for k, p in named if "norm" not in k]
        lr_bias = lr * self.bias_scaler
        groups = [
            {"params": norm, "lr": lr_bias, "weight_decay": wd / lr_bias},
            {"params": other, "lr": lr, "weight_decay": wd / lr},
        ]
        self._ema: list[Any] | None = None
        # the float tensors of state_dict() (views of the live weights and BatchNorm statistics)
        self._live = [v for v in self.model.state_dict().values() if v.is_floating_point()]
        # fused: one kernel for the whole update on a GPU (CPU keeps the reference loop)
        fused = True if self.plan.device.type == "cuda" else None
        return torch.optim.SGD(groups, momentum=self.momentum, nesterov=True, fused=fused)

    def loss(self, logits: Any, labels: Any) -> Any:
        # summed, as the decoupled learning rate assumes
        return F.cross_entropy(
            logits.float(), labels, label_smoothing=self.label_smoothing, reduction="sum"
        )

    def lr_factor(self, step: int) -> float:
        """Triangle: 0.2 -> 1 at 23% of the steps -> 0.07 at the end."""
        peak = 0.23 * self.total_steps
        if step < peak:
            return 0.2 + 0.8 * step / peak
        return 1.0 - 0.93 * (step - peak) / max(self.total_steps - peak, 1)

    def start_epoch(self, epoch: int) -> None:
        model = self.model
        assert isinstance(model, SmallCNN)
        assert model.whiten.bias is not None
        model.whiten.bias.requires_grad = epoch < max(1, round(0.3 * self.plan.epochs))

    def after_step(self, step: int) -> None:
        if step < self.ema_start * self.total_steps or step % self.ema_every:
            return
        if self._ema is None:
            self._ema = [v.detach().clone() for v in self._live]
            return
        rho = self.ema_base**self.ema_every * (step / self.total_steps) ** self.ema_power
        self._lerp_and_copy(rho)

    def finish_epoch(self) -> None:
        if self._ema is not None:
            self._lerp_and_copy(1.0)

    @torch.no_grad()
    def _lerp_and_copy(self, decay: float) -> None:
        """EMA update and copy back, as two multi-tensor kernels rather than one per tensor."""
        assert self._ema is not None
        torch._foreach_lerp_(self._ema, self._live, 1 - decay)
        torch._foreach_copy_(self._live, self._ema)


class FineTuneRecipe(_Recipe):
    """AdamW, 10% warm-up then linear decay; a pretrained body learns 10x slower than the head."""

    label_smoothing = 0.1

    def _optimizer(self) -> Any:
        head_lr = 2e-3
        body_lr = head_lr / 10 if self.plan.pretrained else head_lr
        model: Any = self.model
        groups = [
            {"params": list(model.body.parameters()), "lr": body_lr},
            {"params": list(model.head.parameters()), "lr": head_lr},
        ]
        return torch.optim.AdamW(groups, weight_decay=0.05)

    def lr_factor(self, step: int) -> float:
        warm = max(1, int(0.1 * self.total_steps))
        if step < warm:
            return (step + 1) / warm
        return max(0.0, 1 - (step - warm) / max(self.total_steps - warm, 1))


def make_recipe(model: nn.Module, plan: Plan, total_steps: int) -> _Recipe:
    if isinstance(model, SmallCNN):
        return AirbenchRecipe(model, plan, total_steps)
    return FineTuneRecipe(model, plan, total_steps)


# -- loops -------------------------------------------------------------------------------------
def fit(
    model: nn.Module,
    data: Data,
    index: np.ndarray,
    labels: np.ndarray,
    *,
    gen: Any,
    on_batch: OnBatch,
    epochs: int | None = None,
) -> None:
    """Train ``model`` on ``data`` rows ``index`` (labels int64 (N,) for all rows) for
    ``epochs`` (default: the plan's).

    ``gen`` draws every random choice on its own device: with a CUDA generator the rows, the
    targets and each epoch's order stay on the GPU, and the loop never waits for the host.
    """
    plan = data.plan if epochs is None else replace(data.plan, epochs=epochs)
    rows = torch.from_numpy(np.asarray(index, dtype=np.int64)).to(gen.device)
    targets = torch.from_numpy(labels).to(plan.device)
    batch = min(plan.batch_size, len(rows))
    steps_per_epoch = len(rows) // batch  # the ragged last batch is dropped (BN needs full ones)
    recipe = make_recipe(model, plan, plan.epochs * steps_per_epoch)
    if isinstance(model, SmallCNN):
        first = torch.randperm(len(rows), generator=gen, device=gen.device)[:5000]
        model.init_whitening(data.batch(rows[first]))
    model.train()
    step = 0
    for epoch in range(plan.epochs):
        recipe.start_epoch(epoch)
        order = rows[torch.randperm(len(rows), generator=gen, device=gen.device)]
        # one copy per epoch where the images (or the targets) live elsewhere
        order_images, order_targets = order.to(data.images.device), order.to(plan.device)
        for b in range(steps_per_epoch):
            part = slice(b * batch, (b + 1) * batch)
            x = random_shift(data.batch(order_images[part], layout=False), plan.shift, gen)
            if plan.flip:
                x = random_flip(x, gen)
            x = data.layout(x)
            with autocast(plan):
                loss = recipe.loss(model(x), targets[order_targets[part]])
            recipe.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            recipe.optimizer.step()
            recipe.scheduler.step()
            step += 1
            recipe.after_step(step)
            on_batch(batch, epoch)
        recipe.finish_epoch()


@torch.no_grad()
def predict_logits(model: nn.Module, data: Data, index: np.ndarray, *, batch: int) -> np.ndarray:
    """float32 (len(index), K) logits, averaged over test-time views when ``plan.tta``."""
    plan = data.plan
    model.eval()
    rows = torch.from_numpy(np.asarray(index, dtype=np.int64)).to(data.images.device)
    out = []
    for chunk in rows.split(batch):
        x = data.batch(chunk)
        with autocast(plan):
            logits = _tta_logits(model, x, plan) if plan.tta else model(x).float()
        out.append(logits.float())
    return torch.cat(out).cpu().numpy() if out else np.zeros((0, 0), dtype=np.float32)


def _tta_logits(model: nn.Module, x: Any, plan: Plan) -> Any:
    """airbench's views: the image (weight 1/2) and two diagonal shifts (1/4 each), each
    averaged with its mirror image when mirroring is a valid augmentation."""

    def view(v: Any) -> Any:
        logits = model(v).float()
        return 0.5 * (logits + model(v.flip(-1)).float()) if plan.flip else logits

    s = max(1, x.shape[-1] // 32)
    h, w = x.shape[-2:]
    padded = F.pad(x, (s, s, s, s), mode="reflect")
    up_left = padded[:, :, :h, :w]
    down_right = padded[:, :, 2 * s :, 2 * s :]
    return 0.5 * view(x) + 0.25 * view(up_left) + 0.25 * view(down_right)


@torch.no_grad()
def features(
    model: nn.Module, data: Data, *, batch: int, on_batch: OnBatch | None = None
) -> np.ndarray:
    """float32 (N, D): the pooled features before the head, for every image, no augmentation."""
    plan = data.plan
    model.eval()
    out = []
    for chunk in torch.arange(len(data.images), device=data.images.device).split(batch):
        with autocast(plan):
            f = model.features(data.batch(chunk))  # type: ignore[operator]
        out.append(f.float())
        if on_batch is not None:
            on_batch(len(chunk), 0)
    return torch.cat(out).cpu().numpy()


def softmax(logits: np.ndarray) -> np.ndarray:
    """float32 rows that sum to 1 (computed in float64, renormalised after the cast)."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p32 = p.astype(np.float32)
    return p32 / p32.sum(axis=1, keepdims=True)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return max(1, n_train // min(batch_size, n_train))


def seed_for(seed: int, fold: int) -> int:
    """A 63-bit seed from (seed, fold): each fold's training is independent of the others."""
    return int(np.random.SeedSequence([seed, fold]).generate_state(2, np.uint64)[0] >> 1)
