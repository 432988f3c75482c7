"""What ``labelaudit export`` is asked to do: one validated, JSON-ready options object."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from labelaudit.core.consensus.methods import AUTO
from labelaudit.core.errors import InputError

UNREVIEWED_POLICIES = ("keep", "exclude-flagged", "auto-fix")
DEDUPE_MODES = ("keep-one", "keep-all")
REBALANCE_MODES = ("none", "oversample", "undersample")
FORMATS = ("imagefolder", "csv", "labelstudio")
FILE_MODES = ("copy", "hardlink", "symlink")
SPLIT_NAMES = ("train", "val", "test")
# A flagged image nobody reviewed takes the model's suggestion only when the out-of-sample
# probability of that suggestion is at least this high (below it, the image is left out). On the
# digits benchmark (scripts/bench_retrain_gain.py, >40% noise) 94-100% of the suggestions at
# p >= 0.7 were right against 90-95% at p >= 0.5: a wrong "fix" costs more than a lost image.
DEFAULT_AUTO_FIX_THRESHOLD = 0.7
DEFAULT_SPLITS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class ExportOptions:
    """Options of an export. ``splits`` holds 2 (train, val) or 3 (train, val, test) fractions."""

    consensus: str = AUTO
    unreviewed: str = "exclude-flagged"
    auto_fix_threshold: float = DEFAULT_AUTO_FIX_THRESHOLD
    dedupe: str = "keep-one"
    splits: tuple[float, ...] = DEFAULT_SPLITS
    keep_splits: bool = False
    seed: int = 0
    rebalance: str = "none"
    formats: tuple[str, ...] = ("imagefolder", "csv")
    mode: str = "copy"
    force: bool = False
    actor: str | None = None  # who exported (for the audit log)

    def __post_init__(self) -> None:
        _check_choice("--unreviewed", self.unreviewed, UNREVIEWED_POLICIES)
        _check_choice("--dedupe", self.dedupe, DEDUPE_MODES)
        _check_choice("--rebalance", self.rebalance, REBALANCE_MODES)
        _check_choice("--mode", self.mode, FILE_MODES)
        for fmt in self.formats:
            _check_choice("--format", fmt, FORMATS)
        if not self.formats:
            raise InputError(f"--format needs at least one of {', '.join(FORMATS)}")
        if not (0.0 <= self.auto_fix_threshold <= 1.0) or math.isnan(self.auto_fix_threshold):
            raise InputError(
                f"--auto-fix-threshold must be between 0 and 1, got {self.auto_fix_threshold}"
            )
        check_split_fractions(self.splits)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"--seed must be >= 0; got {self.seed}")

    @property
    def split_names(self) -> tuple[str, ...]:
        return SPLIT_NAMES[: len(self.splits)]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["splits"] = list(self.splits)
        data["formats"] = list(self.formats)
        return data


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{option} must be one of {', '.join(choices)}; got {value!r}")


def check_split_fractions(fractions: tuple[float, ...]) -> None:
    if len(fractions) not in (2, 3):
        raise InputError(
            f"--splits takes 2 (train,val) or 3 (train,val,test) fractions; got {len(fractions)}"
        )
    if any(not math.isfinite(f) or f < 0 for f in fractions) or fractions[0] <= 0:
        raise InputError(f"--splits fractions must be >= 0 with train > 0; got {list(fractions)}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(f"--splits fractions must sum to 1; got {list(fractions)}")


def parse_splits(text: str) -> tuple[float, ...]:
    """``"0.8,0.1,0.1"`` -> (0.8, 0.1, 0.1); percentages (``80,10,10``) are accepted too."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"--splits takes numbers such as 0.8,0.1,0.1; got {text!r}") from None
    if values and abs(sum(values) - 100.0) < 1e-6:
        values = tuple(v / 100.0 for v in values)
    check_split_fractions(values)
    return values


def parse_formats(text: str) -> tuple[str, ...]:
    items = [part.strip().lower() for part in text.split(",") if part.strip()]
    for item in items:
        _check_choice("--format", item, FORMATS)
    if not items:
        raise InputError(f"--format needs at least one of {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(items))
