"""Devices, numeric formats and a reproducible torch session (imports torch: import it lazily)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch  # noqa: TID253 (a lazily imported module)

from labelaudit.core.errors import InputError


def resolve_device(requested: str) -> str:
    """``auto`` -> ``cuda`` when a CUDA GPU is present, else ``cpu``; check explicit choices."""
    text = requested.strip().lower()
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return "cpu"
    if text == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InputError("--device mps: Apple's Metal (MPS) backend is not available here")
        return "mps"
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError(
                f"--device {requested}: CUDA is not available (torch {torch.__version__}, "
                "no NVIDIA GPU or driver found); use --device cpu or auto"
            )
        index = text.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise InputError(
                f"--device {requested}: there are {torch.cuda.device_count()} CUDA devices"
            )
        return text
    raise InputError(f"--device must be auto, cpu, cuda, cuda:N or mps; got {requested!r}")


def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX).

    Measured here (2 cores with AMX): bf16 autocast + channels_last trains small-cnn 2-4x faster
    than float32; on CPUs without these instructions bf16 is emulated and slower. A flag check
    (rather than a timing race) keeps the choice, and so the results, reproducible.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def numerics(device: str) -> tuple[bool, bool]:
    """(bf16 autocast, channels_last) for a device."""
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_bf16_supported(), True
    if kind == "cpu":
        fast = cpu_has_fast_bf16()
        return fast, fast  # channels_last pays off with bf16; in float32 it varies by layer size
    return False, False


@contextmanager
def session(*, device: str, threads: int) -> Iterator[Any]:
    """A torch.device with thread count and determinism set; global state restored on exit.

    The global RNG is forked so that seeding folds does not disturb the caller's generators.
    """
    dev = torch.device(device)
    old_threads = torch.get_num_threads()
    old_deterministic = torch.are_deterministic_algorithms_enabled()
    old_benchmark = torch.backends.cudnn.benchmark
    torch.set_num_threads(max(1, threads))
    cuda_devices = [dev.index or 0] if dev.type == "cuda" else []
    try:
        if dev.type == "cuda":
            # speed first on GPUs (cuDNN autotuning); byte-identical results are a CPU promise
            torch.backends.cudnn.benchmark = True
        else:
            torch.use_deterministic_algorithms(True, warn_only=True)
        with torch.random.fork_rng(devices=cuda_devices):
            yield dev
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_deterministic)
        torch.backends.cudnn.benchmark = old_benchmark


def default_threads() -> int:
    return torch.get_num_threads() or os.cpu_count() or 1
