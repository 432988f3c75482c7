"""``labelaudit install-desktop [--uninstall] [--prefix DIR]``: the app in the desktop launcher.

Installs the icon (hicolor theme), the desktop entry and the AppStream metadata shipped in
labelaudit/resources for the current user, under ``$XDG_DATA_HOME`` (default ``~/.local/share``),
or under ``DIR/share`` with ``--prefix DIR``. A record of what it wrote (each file's SHA-256) is
kept beside them, so that ``--uninstall`` removes exactly those files, and only while they are
unchanged: a file it did not write is never overwritten or removed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from labelaudit import __version__
from labelaudit.core.errors import InputError
from labelaudit.resources import (
    DESKTOP_ENTRY,
    ICON_NAME,
    ICON_SIZES,
    ICON_SVG,
    METAINFO,
    icon_png,
    resource,
)

RECORD = Path("labelaudit") / "desktop-install.json"
GUI_SCRIPT = "labelaudit-gui"
# Characters that make the desktop entry spec's Exec key quote an argument.
EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_dir(prefix: Path | None) -> Path:
    """Where user data files go (XDG base directory spec: a relative XDG_DATA_HOME is ignored)."""
    if prefix is not None:
        return prefix / "share"
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if os.path.isabs(env) else Path.home() / ".local" / "share"


def gui_command() -> str | None:
    """The absolute path of ``labelaudit-gui`` when found: a launcher does not see a venv's PATH."""
    beside = Path(sys.executable).parent / GUI_SCRIPT
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(GUI_SCRIPT)


def exec_quote(path: str) -> str:
    """One Exec argument, quoted and escaped as the desktop entry spec asks (both levels)."""
    text = path.replace("%", "%%")
    if EXEC_RESERVED.isdisjoint(text):
        return text
    for char in ("\\", '"', "`", "$"):
        text = text.replace(char, "\\" + char)
    return '"' + text.replace("\\", "\\\\") + '"'


def desktop_entry(command: str | None) -> bytes:
    """The shipped entry, pointed at this installation's ``labelaudit-gui`` when found; TryExec
    hides the entry again if that installation goes away."""
    text = resource(DESKTOP_ENTRY).read_text(encoding="utf-8")
    if command is None:
        return text.encode("utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("Exec="):
            lines.append("TryExec=" + command.replace("\\", "\\\\"))
            line = line.replace(f"Exec={GUI_SCRIPT}", f"Exec={exec_quote(command)}", 1)
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


def planned_files(command: str | None) -> dict[str, bytes]:
    """Each file to install, by its path under the data folder."""
    files = {f"icons/hicolor/scalable/apps/{ICON_NAME}.svg": resource(ICON_SVG).read_bytes()}
    for size in ICON_SIZES:
        files[f"icons/hicolor/{size}x{size}/apps/{ICON_NAME}.png"] = resource(
            icon_png(size)
        ).read_bytes()
    files[f"applications/{DESKTOP_ENTRY}"] = desktop_entry(command)
    files[f"metainfo/{METAINFO}"] = resource(METAINFO).read_bytes()
    return files


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_record(base: Path) -> tuple[dict[str, str], list[str]]:
    """The files (path: SHA-256) and the folders that earlier runs created under ``base``."""
    path = base / RECORD
    if not path.is_file():
        return {}, []
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        files, folders = record["files"], record["folders"]
        if not isinstance(files, dict) or not isinstance(folders, list):
            raise ValueError("unexpected layout")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read the install record {path}: {exc}") from None
    return files, folders


def file_digest(path: Path) -> str | None:
    try:
        return sha256(path.read_bytes())
    except FileNotFoundError:
        return None


def write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename: a failure leaves no half-written icon."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def make_folders(base: Path, relpaths: list[str]) -> list[str]:
    """Create the folders the files need; returns those that did not exist (deepest last). A
    missing data folder itself is created and recorded as "."; its parents (~/.local) are not."""
    created: list[str] = []
    if not base.is_dir():
        base.mkdir(parents=True)
        created.append(".")
    for relpath in relpaths:
        missing = []
        folder = (base / relpath).parent
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            folder.mkdir()
            created.append(folder.relative_to(base).as_posix())
    return created


def install(base: Path) -> list[str]:
    files = planned_files(gui_command())
    recorded, created = read_record(base)
    for relpath, data in files.items():
        current = file_digest(base / relpath)
        if current not in (None, sha256(data), recorded.get(relpath)):
            raise InputError(
                f"{base / relpath} exists and was not written by labelaudit install-desktop; "
                "move it away first"
            )
    created += make_folders(base, [*files, RECORD.as_posix()])
    recorded.update({relpath: sha256(data) for relpath, data in files.items()})
    record = {"version": __version__, "files": recorded, "folders": created}
    # The record first: should a write fail, --uninstall still knows every file this run wrote.
    write_bytes(base / RECORD, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
    done = []
    for relpath, data in files.items():
        try:
            write_bytes(base / relpath, data)
        except OSError as exc:
            raise InputError(
                f"cannot write {base / relpath}: {exc.strerror or exc}; "
                "labelaudit install-desktop --uninstall removes what was written"
            ) from None
        done.append(f"installed {base / relpath}")
    return done


def uninstall(base: Path) -> list[str]:
    recorded, created = read_record(base)
    if not recorded:
        return []
    done = []
    for relpath, digest in recorded.items():
        path = base / relpath
        current = file_digest(path)
        if current == digest:
            path.unlink()
            done.append(f"removed {path}")
        elif current is not None:
            done.append(f"kept {path}: changed since labelaudit installed it")
    (base / RECORD).unlink()
    deepest_first = sorted(set(created), key=lambda p: (p != ".", p.count("/")), reverse=True)
    for relpath in deepest_first:
        with contextlib.suppress(OSError):
            (base / relpath).rmdir()  # only while empty: what others put there stays
    return done


def refresh_caches(base: Path) -> list[str]:
    """Bring the desktop's caches up to date where they exist. Where they do not, desktops read the
    folders themselves, and a cache created here would go stale as other programs add files (the
    entry has no MimeType, so the MIME cache gains nothing from it)."""
    caches = {
        "applications/mimeinfo.cache": ["update-desktop-database", "-q"],
        "icons/hicolor/icon-theme.cache": ["gtk-update-icon-cache", "-q", "-t", "-f"],
    }
    commands = [
        [*command, str((base / cache).parent)]
        for cache, command in caches.items()
        if (base / cache).is_file()
    ]
    done = []
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
            failure = f"exit status {proc.returncode}" if proc.returncode else None
        except (OSError, subprocess.TimeoutExpired) as exc:
            failure = str(exc)
        # On failure the files are still in place; the desktop rereads them at the next login.
        done.append(
            f"note: {command[0]} failed ({failure}), ignored"
            if failure
            else f"ran {' '.join(command)}"
        )
    return done


def _run(args: argparse.Namespace) -> int:
    if sys.platform in ("win32", "darwin"):
        raise InputError(
            "install-desktop registers the app with Linux and BSD (freedesktop) desktops; "
            f"on this system start the app with {GUI_SCRIPT}"
        )
    if args.prefix is not None and not args.prefix.is_dir():
        raise InputError(f"--prefix {args.prefix} is not a folder")
    base = data_dir(args.prefix)
    if args.uninstall:
        lines = uninstall(base)
        if not lines:
            print(f"nothing to remove: labelaudit install-desktop installed nothing under {base}")
            return 0
    else:
        lines = install(base)
        command = gui_command()
        lines.append(
            f"the launcher entry starts {command}"
            if command
            else f"note: {GUI_SCRIPT} is not on the PATH; the launcher entry starts once it is"
        )
    print("\n".join(lines + refresh_caches(base)))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "install-desktop",
        help="add the app to the desktop's launcher (icon, menu entry) for this user",
        description="Install the app's icon, desktop entry and AppStream metadata for the current "
        "user under $XDG_DATA_HOME (default ~/.local/share), so that the app appears in the "
        "desktop's launcher. --uninstall removes exactly the files it installed.",
    )
    parser.add_argument(
        "--uninstall", action="store_true", help="remove the files an earlier run installed"
    )
    parser.add_argument(
        "--prefix",
        type=Path,
        metavar="DIR",
        default=None,
        help="install under DIR/share (e.g. /usr/local) instead of $XDG_DATA_HOME",
    )
    parser.set_defaults(func=_run)
