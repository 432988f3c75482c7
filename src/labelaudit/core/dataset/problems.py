"""Why a file or manifest row could not be imported. Codes are stable: they appear in the store,
``labelaudit info --json`` and the app."""

from __future__ import annotations

from dataclasses import dataclass

REASONS: dict[str, str] = {
    "empty_file": "zero-byte file",
    "unreadable": "file cannot be read",
    "not_an_image": "not an image (unknown format) despite its extension",
    "truncated": "truncated or corrupt image data",
    "too_large": "image over the pixel limit (possible decompression bomb)",
    "out_of_memory": "not enough memory to decode the image",
    "worker_crashed": "the process decoding the file died repeatedly (killed, out of memory?)",
    "duplicate_path": "path listed more than once in the manifest",
    "path_escapes_root": "path outside the image root (absolute or ../)",
    "symlink_outside_root": "symbolic link pointing outside the image root",
    "symlink_loop": "symbolic link that loops (to itself, or to a folder that holds it)",
    "missing_file": "listed in the manifest but not found",
    "empty_label": "empty label",
    "unknown_label": "label not among the allowed classes (--classes)",
    "no_label": "image directly in the root folder, not in a class folder",
    "bad_filename": "file name is not valid UTF-8",
    "name_clash": "path equal to another after Unicode normalisation",
}

# Problems of a label, not of the file: the image has no class and is reported as unlabelled.
LABEL_PROBLEMS = frozenset({"empty_label", "unknown_label"})

# Problems of a file that exists: the image is kept in the store as ``broken`` with this reason.
FILE_PROBLEMS = frozenset(
    {
        "empty_file",
        "unreadable",
        "not_an_image",
        "truncated",
        "too_large",
        "out_of_memory",
        "worker_crashed",
        "empty_label",
        "unknown_label",
    }
)


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str
    detail: str | None = None

    def describe(self) -> str:
        text = REASONS.get(self.reason, self.reason)
        return f"{self.path}: {text}" + (f" ({self.detail})" if self.detail else "")
