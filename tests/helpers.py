"""Test helpers: image trees, the installed CLI, output checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def write_image(
    path: Path,
    *,
    seed: int = 0,
    size: tuple[int, int] = (24, 24),
    fmt: str | None = None,
    mode: str = "RGB",
    color: int | None = None,
) -> Path:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    if color is not None:
        arr = np.full((size[1], size[0], channels), color, dtype=np.uint8)
    else:
        arr = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    im = Image.fromarray(arr[..., 0] if channels == 1 else arr, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format=fmt)
    return path


def make_tree(root: Path, counts: dict[str, int], *, ext: str = "png", seed: int = 0) -> Path:
    """A folder-per-class tree: root/<class>/<i>.<ext> with distinct random images."""
    k = seed * 100_000
    for cls, n in counts.items():
        for i in range(n):
            write_image(root / cls / f"{i:04d}.{ext}", seed=k)
            k += 1
    return root


def cli_executable() -> str:
    exe = Path(sys.executable).parent / "labelaudit"
    if exe.exists():
        return str(exe)
    found = shutil.which("labelaudit")
    if not found:
        pytest.fail("the labelaudit entry point is not installed (pip install -e .)")
    return found


def run_cli(
    *args: str | os.PathLike[str],
    check: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``labelaudit`` command; returns the completed process."""
    full_env = dict(os.environ)
    full_env.pop("LABELAUDIT_DB", None)
    full_env.update(env or {})
    proc = subprocess.run(
        [cli_executable(), *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        input=input,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"labelaudit {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc


def assert_one_error_line(proc: subprocess.CompletedProcess[str], *, contains: str = "") -> None:
    """A failure is one clear line on stderr, a non-zero exit and no traceback."""
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("labelaudit: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert contains.lower() in lines[0].lower(), lines[0]


def tree_fingerprint(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mode under root: to prove imports never touch sources."""
    out: dict[str, tuple[bytes, int]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out
