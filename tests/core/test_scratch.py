"""Scratch folders a killed process left are removed; nothing else is."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from labelaudit.core.scratch import MARKER, scratch, scratch_folder, sweep

HOLD = """
import sys, time
from labelaudit.core.scratch import scratch_folder
folder = scratch_folder("labelaudit-test-", parent=sys.argv[1])
(folder / "rows.f32").write_bytes(b"x" * 4096)
print(folder, flush=True)
time.sleep(600)
"""


def _holder(parent: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(parent)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_kill_9_leftover_goes_and_foreign_or_live_folders_stay(tmp_path: Path) -> None:
    killed, left = _holder(tmp_path)
    alive, live = _holder(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert (left / "rows.f32").exists()  # a kill -9 cleans nothing up
        foreign = tmp_path / "labelaudit-test-foreign"  # our prefix, not our marker
        foreign.mkdir()
        (foreign / "data").write_text("theirs")
        elsewhere = tmp_path / "labelaudit-test-other-host"
        elsewhere.mkdir()
        (elsewhere / MARKER).write_text(
            json.dumps({"host": "not-" + socket.gethostname(), "pid": 1})
        )
        container = tmp_path / "labelaudit-test-other-container"  # same host name, other pids
        container.mkdir()
        dead = json.loads((left / MARKER).read_text())
        (container / MARKER).write_text(json.dumps({**dead, "pid_space": -1}))
        link = tmp_path / "labelaudit-test-link"
        link.symlink_to(left)
        made = scratch_folder("labelaudit-test-", parent=tmp_path)  # sweeps first
        assert not left.exists() and made.exists()
        assert (live / "rows.f32").exists() and (foreign / "data").read_text() == "theirs"
        assert elsewhere.exists() and container.exists() and link.is_symlink()
        assert json.loads((made / MARKER).read_text())["pid"] == os.getpid()
        assert sweep("labelaudit-test-", parent=tmp_path) == []  # its own folder: alive
    finally:
        alive.kill()
        alive.wait(timeout=30)


def test_scratch_is_removed_on_exit_and_after_an_error(tmp_path: Path) -> None:
    with scratch("labelaudit-x-", parent=tmp_path) as folder:
        (folder / "f").write_bytes(b"1")
    assert not folder.exists()
    try:
        with scratch("labelaudit-x-", parent=tmp_path) as folder:
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert not folder.exists() and list(tmp_path.iterdir()) == []
