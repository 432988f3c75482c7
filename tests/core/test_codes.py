"""The integer codes are stored in databases and arrays: their values must never change."""

from __future__ import annotations

import numpy as np
import pytest

from labelaudit.core.codes import ISSUE_BITS, ImageStatus, Issue, issue_names
from labelaudit.core.dataset.catalog import STATUS_CODES
from labelaudit.core.errors import is_out_of_memory, out_of_memory_message


def test_stored_code_values_are_frozen() -> None:
    assert {s.label: int(s) for s in ImageStatus} == {"ok": 0, "broken": 1, "missing": 2}
    assert STATUS_CODES == {"ok": 0, "broken": 1, "missing": 2}
    assert {name: int(bit) for name, bit in ISSUE_BITS.items()} == {
        "label": 1,
        "near_duplicate": 2,
        "outlier": 4,
        "dark": 8,
        "light": 16,
        "blurry": 32,
        "odd_size": 64,
    }
    assert Issue.BROKEN_BADGE == 128 and "broken_badge" not in ISSUE_BITS


def test_codes_compare_with_numpy_arrays_and_name_the_bits() -> None:
    status = np.array([0, 1, 2, 0], dtype=np.uint8)
    assert (status == ImageStatus.OK).tolist() == [True, False, False, True]
    flags = np.array([Issue.LABEL | Issue.DARK, Issue.BROKEN_BADGE], dtype=np.uint8)
    assert issue_names(int(flags[0])) == ["label", "dark"]
    assert issue_names(int(flags[1])) == []  # the badge is not a stored issue type


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError: recognised without importing torch."""


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (MemoryError(), True),
        (OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB"), True),
        (RuntimeError("shape mismatch"), False),
        (ValueError("out of memory"), False),  # only a RuntimeError's text counts
    ],
)
def test_one_out_of_memory_test_for_every_scan_path(exc: BaseException, expected: bool) -> None:
    assert is_out_of_memory(exc) is expected


def test_the_out_of_memory_message_is_one_line_with_advice() -> None:
    text = out_of_memory_message(OutOfMemoryError("CUDA out of memory.\nmore detail"))
    assert "\n" not in text and "--batch-size" in text and "--image-size" in text
    assert text.startswith("the scan ran out of memory (OutOfMemoryError: CUDA out of memory.)")
