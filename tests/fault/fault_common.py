"""The fault-injection suite's machinery: real ``labelaudit`` processes, started together or
killed with SIGKILL at seeded points, and the figures of a campaign (issue 10's acceptance).

Used by the tests in this folder and by scripts/fault_injection.py (a bigger campaign), so that
there is one copy of everything; the invariants checked after a fault are in fault_checks.py.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLI = [sys.executable, "-m", "labelaudit"]
PROCESS_TIMEOUT_S = 120.0  # a command that runs longer than this hangs: a failure, not a wait


# -- figures ---------------------------------------------------------------------------------------
@dataclass
class Figures:
    """One campaign's counts: cases run, faults that landed, cases whose invariants all held."""

    name: str
    backend: str = "sqlite"
    cases: int = 0
    faults: int = 0
    survived: int = 0
    failures: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)  # one line per case, for --verbose

    def case(self, violations: Sequence[str], *, fault: int, outcome: str, label: str) -> None:
        """One case; ``fault``: how many faults landed in it (a bool counts as 0 or 1)."""
        self.log.append(f"{label}: {outcome}{'' if not violations else ' FAILED'}")
        self.cases += 1
        self.faults += int(fault)
        self.outcomes[outcome] += 1
        if violations:
            self.failures += [f"{label}: {v}" for v in violations]
        else:
            self.survived += 1


class Tally:
    """Every campaign of a run, printed as one table."""

    def __init__(self) -> None:
        self.rows: list[Figures] = []

    def new(self, name: str, backend: str) -> Figures:
        self.rows.append(Figures(name, backend))
        return self.rows[-1]

    def table(self) -> str:
        head = f"{'campaign':34} {'backend':8} {'cases':>5} {'faults':>6} {'survived':>8}  outcomes"
        lines = [head, "-" * len(head)]
        for f in self.rows:
            outcomes = ", ".join(f"{k} {n}" for k, n in sorted(f.outcomes.items()))
            lines.append(
                f"{f.name:34} {f.backend:8} {f.cases:5d} {f.faults:6d} {f.survived:8d}  {outcomes}"
            )
        total = [sum(getattr(f, k) for f in self.rows) for k in ("cases", "faults", "survived")]
        lines.append(f"{'total':34} {'':8} {total[0]:5d} {total[1]:6d} {total[2]:8d}")
        failures = [x for f in self.rows for x in f.failures]
        lines += [f"FAILED {x}" for x in failures] or ["no invariant was broken"]
        return "\n".join(lines)


# -- processes -------------------------------------------------------------------------------------
def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LABELAUDIT_DB"}
    env.setdefault("LABELAUDIT_LOCK_TIMEOUT", "10")
    env.update(extra or {})
    return env


def spawn(
    *args: object,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(env),
        preexec_fn=preexec_fn,
    )


@dataclass(frozen=True)
class Outcome:
    """How a process ended: ``killed`` when our SIGKILL landed while it ran."""

    rc: int | None
    stdout: str
    stderr: str
    killed: bool
    seconds: float
    survivors: tuple[int, ...] = ()  # its child processes still alive 2 s after the kill


def finish(proc: subprocess.Popen[str], *, started: float, killed: bool = False) -> Outcome:
    try:
        out, err = proc.communicate(timeout=PROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return Outcome(None, out, err + "\n[hung: killed by the test]", killed, PROCESS_TIMEOUT_S)
    return Outcome(proc.returncode, out, err, killed, time.monotonic() - started)


def run(*args: object, env: dict[str, str] | None = None) -> Outcome:
    started = time.monotonic()
    return finish(spawn(*args, env=env), started=started)


MAX_OFFSET_S = 0.15  # racing processes start within this of each other


def together(rng: random.Random, *commands: tuple[object, ...]) -> list[Outcome]:
    """Start the commands a seeded few milliseconds apart; wait for all of them."""
    procs = []
    for n, args in enumerate(commands):
        if n:
            time.sleep(rng.uniform(0, MAX_OFFSET_S))
        procs.append((time.monotonic(), spawn(*args)))
    return [finish(proc, started=started) for started, proc in procs]


def clean_exit(out: Outcome, *, allowed: Iterable[str] = ()) -> list[str]:
    """A process we did not kill exits 0, or fails in one clear line (containing one of
    ``allowed`` where given), never with a traceback, never hangs."""
    if out.survivors:
        return [f"processes {list(out.survivors)} outlived the killed command by 2 s"]
    if out.killed:
        return []
    if out.rc is None:
        return [f"hung for {PROCESS_TIMEOUT_S:.0f} s"]
    if out.rc == 0:
        return []
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    if len(lines) != 1 or not lines[0].startswith("labelaudit: error: "):
        return [f"exit {out.rc} without one clear error line: {out.stderr.strip()[-600:]!r}"]
    wanted = list(allowed)
    if wanted and not any(w.lower() in lines[0].lower() for w in wanted):
        return [f"unexpected refusal: {lines[0]!r}"]
    return []


def acknowledged(out: Outcome) -> bool:
    return not out.killed and out.rc == 0


# -- kill -9 at seeded points --------------------------------------------------------------------
def run_timed(*args: object, anchor: Callable[[], bool]) -> tuple[Outcome, float | None]:
    """Run to the end, noting when ``anchor()`` first held (the command began its work: made
    its folder, opened the store); None if it never did."""
    started = time.monotonic()
    proc = spawn(*args)
    seen: float | None = None
    while proc.poll() is None:
        if seen is None and anchor():
            seen = time.monotonic() - started
        time.sleep(0.005)
    return finish(proc, started=started), seen


EARLY_SHARE = 0.2  # of the kills, timed from the spawn rather than from the sign of work


@dataclass(frozen=True)
class KillPoint:
    """SIGKILL ``delay`` seconds after the spawn, or after the sign that the command began its
    work (``after_sign``): that sign comes at a time that varies with the machine's load."""

    after_sign: bool
    delay: float

    def __str__(self) -> str:
        return f"{self.delay:.3f} s after the {'sign of work' if self.after_sign else 'spawn'}"


@dataclass(frozen=True)
class KillWindow:
    """Kill points measured on a reference run: most fall in its work (after the sign, up to 0.9
    of its length: later runs are a little faster, the first compiles and caches), some from late
    in the start-up."""

    before_s: float  # spawn to the sign of work (or the bare start-up, where none shows)
    work_s: float  # the sign to the exit
    has_sign: bool

    @classmethod
    def of(cls, *args: object, anchor: Callable[[], bool] | None) -> tuple[Outcome, KillWindow]:
        """Run the command once to the end (a reference), and the window measured on it."""
        out, seen = run_timed(*args, anchor=anchor or (lambda: False))
        if seen is None:
            seen = min(startup_seconds(), 0.8 * out.seconds)
        return out, cls(seen, max(0.02, out.seconds - seen), anchor is not None)

    def draw(self, rng: random.Random) -> KillPoint:
        if not self.has_sign or rng.random() < EARLY_SHARE:
            return KillPoint(
                False, rng.uniform(0.6 * self.before_s, self.before_s + 0.9 * self.work_s)
            )
        return KillPoint(True, rng.uniform(0.0, 0.9 * self.work_s))


def kill_at(
    proc: subprocess.Popen[str],
    point: KillPoint,
    *,
    started: float,
    anchor: Callable[[], bool] | None,
) -> Outcome:
    """SIGKILL ``proc`` at ``point``, unless it ended before."""
    origin = started
    if point.after_sign and anchor is not None:
        while proc.poll() is None and not anchor():
            if time.monotonic() - started > PROCESS_TIMEOUT_S:
                break
            time.sleep(0.002)
        origin = time.monotonic()
    try:
        proc.wait(timeout=max(0.0, point.delay - (time.monotonic() - origin)))
        return finish(proc, started=started)
    except subprocess.TimeoutExpired:
        kids = children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        out = finish(proc, started=started, killed=True)
        return dataclasses.replace(out, survivors=tuple(outliving(kids)))


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from Linux's /proc; none found elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def outliving(pids: Iterable[int], *, grace_s: float = 2.0) -> list[int]:
    """Those of ``pids`` still running after ``grace_s`` (an exited child is a zombie or gone)."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = [p for p in pids if (_stat(p) or ["Z"])[0] != "Z"]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _stat(pid: int) -> list[str] | None:
    """State, parent pid, ... of a process from /proc/PID/stat; None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def startup_seconds() -> float:
    """Wall time of the CLI's start-up alone (``--version``), on this machine now."""
    return run("--version").seconds


def kill_run(
    window: KillWindow, rng: random.Random, anchor: Callable[[], bool] | None, *args: object
) -> tuple[KillPoint, Outcome]:
    point = window.draw(rng)
    started = time.monotonic()
    return point, kill_at(spawn(*args), point, started=started, anchor=anchor)
