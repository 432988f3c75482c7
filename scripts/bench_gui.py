"""The review app's speed: open, thumbnails, scrolling, memory, 1,000,000 images, thumbnails/s.

Usage:
    python scripts/bench_gui.py [--n 100000] [--work DIR] [--million] [--cifar PATH]

1. Generates N JPEGs of 256x192 (a few hundred distinct byte strings copied to N files, 10
   classes) once under WORK, imports them with the real importer and stores a synthetic scan that
   flags 5 % of the images.
2. Runs the app offscreen in fresh processes: Python module imports (reported apart), open to a
   painted grid, all visible thumbnails loaded with a cold (emptied) and a warm thumbnail cache,
   peak RSS; then scrolls top to bottom one viewport per 16 ms while a 5 ms heartbeat timer
   measures event-loop stalls.
3. ``--million``: a 1,000,000-image project whose rows are bulk-inserted into the database
   (no files: creating a million files is not what is measured) with a synthetic scan; time to a
   painted grid.
4. Thumbnails/s through the app's loader for the CIFAR-10 test JPEGs and for 12-megapixel JPEGs
   (Pillow draft mode), cold and warm.
Prints every figure and the machine load.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10-test"
CLASSES = 10


# -- data ------------------------------------------------------------------------------------------
def generate_images(root: Path, n: int, *, distinct: int = 400, seed: int = 0) -> None:
    """N JPEG files of 256x192 made from ``distinct`` encoded images (fast to write)."""
    import numpy as np
    from PIL import Image

    marker = root / f".complete-{n}"
    if marker.exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(seed)
    blobs = []
    yy, xx = np.mgrid[0:192, 0:256]
    for _ in range(distinct):
        colour = rng.integers(0, 256, 3)
        base = (colour[None, None, :] * 0.5 + np.stack([xx, yy, xx + yy], -1) * 0.25).astype(
            np.uint8
        )
        base[rng.integers(0, 150) :][:40, rng.integers(0, 200) :][:, :50] = rng.integers(0, 256, 3)
        buf = io.BytesIO()
        Image.fromarray(base).save(buf, "JPEG", quality=75)
        blobs.append(buf.getvalue())
    for c in range(CLASSES):
        (root / f"class_{c:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"class_{i % CLASSES:02d}" / f"{i:07d}.jpg").write_bytes(blobs[i % distinct])
    marker.write_text("ok")


def store_synthetic_scan(project: Any, *, flag_share: float = 0.05, seed: int = 0) -> None:
    """A finished scan: random confident predictions, ``flag_share`` of images flagged."""
    import numpy as np
    import sqlalchemy as sa

    from labelaudit.core.store.scan_results import save_arrays
    from labelaudit.core.store.schema import classes, images, scans

    with project.store.read() as conn:
        names = sorted(conn.execute(sa.select(classes.c.name)).scalars())
        index = {
            cid: names.index(n) for cid, n in conn.execute(sa.select(classes.c.id, classes.c.name))
        }
        rows = conn.execute(sa.select(images.c.id, images.c.class_id).order_by(images.c.id)).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    labels = np.array([index[r[1]] for r in rows], dtype=np.int64)
    n, k = ids.size, len(names)
    rng = np.random.default_rng(seed)
    flagged = rng.random(n) < flag_share
    suggested = np.where(flagged, (labels + rng.integers(1, k, n)) % k, labels)
    probs = rng.random((n, k)).astype(np.float32) * 0.2
    probs[np.arange(n), suggested] += 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    arrays = {
        "image_ids": ids,
        "labels": labels,
        "pred_probs": probs,
        "suggested": suggested,
        "suggested_prob": probs[np.arange(n), suggested],
        "label_quality": rng.random(n).astype(np.float32),
        "is_label_issue": flagged,
        "issue_flags": flagged.astype(np.uint8),
    }

    def write(conn: sa.Connection) -> None:
        scan_id = conn.execute(
            sa.insert(scans).values(
                created_at=time.time(),
                finished_at=time.time(),
                status="done",
                kind="pred_probs",
                config="{}",
                versions="{}",
                timings="{}",
                summary="{}",
                class_names=json.dumps(names),
                n_images=n,
                folds_done=0,
            )
        ).inserted_primary_key[0]
        save_arrays(conn, int(scan_id), arrays)

    project.store.write(write)


def build_project(images: Path, folder: Path) -> float:
    """Import with the real importer (once); returns the import time or 0 when reused."""
    from labelaudit.core.project import Project

    if (folder / ".bench-complete").exists():
        return 0.0
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    with Project.create(folder, images) as project:
        project.import_images()
        elapsed = time.perf_counter() - started
        store_synthetic_scan(project)
    (folder / ".bench-complete").write_text("ok")
    return elapsed


def build_million(folder: Path, n: int = 1_000_000) -> None:
    """The rows of a 1,000,000-image project, bulk-inserted (no files), plus a synthetic scan."""
    import sqlite3

    from labelaudit.core.project import DB_FILE, Project

    if (folder / ".bench-complete").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    empty_root = folder.parent / "million-images"
    empty_root.mkdir(parents=True, exist_ok=True)
    Project.create(folder, empty_root).close()
    now = time.time()
    db = sqlite3.connect(folder / DB_FILE)
    with db:
        db.executemany(
            "INSERT INTO classes (id, name, created_at) VALUES (?, ?, ?)",
            [(c + 1, f"class_{c:02d}", now) for c in range(CLASSES)],
        )
        db.executemany(
            "INSERT INTO images (id, path, class_id, size, mtime_ns, sha256, width, height, "
            "mode, format, status, created_at, updated_at) "
            "VALUES (?, ?, ?, 5000, 0, NULL, 256, 192, 'RGB', 'JPEG', 'ok', ?, ?)",
            (
                (i + 1, f"class_{i % CLASSES:02d}/{i:07d}.jpg", i % CLASSES + 1, now, now)
                for i in range(n)
            ),
        )
    db.close()
    with Project.open(folder) as project:
        store_synthetic_scan(project)
    (folder / ".bench-complete").write_text("ok")


# -- children (fresh processes) --------------------------------------------------------------------
def child_open(project_dir: str, *, scroll: bool, wait_thumbs: bool) -> dict[str, Any]:
    started = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, Qt, QTimer

    from labelaudit.gui.app import application
    from labelaudit.gui.main_window import MainWindow

    imports_s = time.perf_counter() - started
    t0 = time.perf_counter()
    app = application()
    window = MainWindow(interactive=False)
    window.resize(1400, 900)
    window.show()
    window.open_project(Path(project_dir))
    grid = window.grid
    out: dict[str, Any] = {"imports_s": round(imports_s, 3), "images": window.session.data.n}

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            painted = event.type() == QEvent.Type.Paint and grid.grid_model.rowCount() > 0
            if painted and "paint_s" not in out:
                QTimer.singleShot(0, lambda: out.setdefault("paint_s", time.perf_counter() - t0))
            return False

    painter = FirstPaint()
    grid.viewport().installEventFilter(painter)
    deadline = time.perf_counter() + 120
    while "paint_s" not in out and time.perf_counter() < deadline:
        app.processEvents()
    if wait_thumbs:
        while not grid.visible_done() and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.001)
        out["visible_thumbs_s"] = round(time.perf_counter() - t0, 3)
        out["visible_tiles"] = grid.visible_slot_range()[1] - grid.visible_slot_range()[0]
    if scroll:
        fast = _scroll(QEventLoop, app, grid, QElapsedTimer, QTimer, Qt)
        out.update({f"fast_{k}": v for k, v in fast.items()})
        # Slowly (one viewport per 150 ms) thumbnails load between steps: stalls then too.
        before = grid.loader.loaded_count
        slow = _scroll(QEventLoop, app, grid, QElapsedTimer, QTimer, Qt, every_ms=150, steps=40)
        slow["thumbs_loaded_while_scrolling"] = grid.loader.loaded_count - before
        out.update({f"slow_{k}": v for k, v in slow.items()})
    out["paint_s"] = round(out.get("paint_s", float("nan")), 3)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    window.close()
    return out


def _scroll(
    QEventLoop: Any,
    app: Any,
    grid: Any,
    QElapsedTimer: Any,
    QTimer: Any,
    Qt: Any,
    *,
    every_ms: int = 16,
    steps: int = 0,
) -> dict[str, Any]:
    """Scroll one viewport per ``every_ms`` to the bottom (or ``steps`` times); a 5 ms heartbeat
    records event-loop stalls."""
    bar = grid.verticalScrollBar()
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def beat() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    done = [0]

    loop = QEventLoop()

    def step() -> None:
        bar.setValue(bar.value() + grid.viewport().height())
        done[0] += 1
        if bar.value() >= bar.maximum() or (steps and done[0] >= steps):
            stepper.stop()
            loop.quit()

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(beat)
    stepper = QTimer()
    stepper.setTimerType(Qt.TimerType.PreciseTimer)
    stepper.setInterval(every_ms)
    stepper.timeout.connect(step)
    if not steps:
        bar.setValue(0)
    else:
        bar.setValue(bar.maximum() // 3)
    started = time.perf_counter()
    heartbeat.start()
    stepper.start()
    loop.exec()
    heartbeat.stop()
    gaps.sort()
    return {
        "scroll_s": round(time.perf_counter() - started, 2),
        "scroll_steps": done[0],
        "max_stall_ms": round(gaps[-1], 1) if gaps else None,
        "p99_stall_ms": round(gaps[int(len(gaps) * 0.99)], 1) if gaps else None,
        "stalls_over_50ms": sum(g > 50 for g in gaps),
        "thumbs_loaded_while_scrolling": grid.loader.loaded_count,
    }


def child_thumbs(image_dir: str, cache_dir: str) -> dict[str, Any]:
    """Thumbnails/s: the app's worker decode (Qt readers, Pillow fallback) and the core's Pillow
    path (draft mode), each in a pool of the loader's thread count, cold and warm disk cache; and
    delivery through the app's ThumbLoader into pixmaps on the GUI thread."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    from labelaudit.core.thumbs import load_thumb
    from labelaudit.gui.app import application
    from labelaudit.gui.workers.images import thumb_qimage
    from labelaudit.gui.workers.thumbs import ThumbLoader

    app = application()
    paths = sorted(p for p in Path(image_dir).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    shas = {i: hashlib.sha256(p.read_bytes()).hexdigest() for i, p in enumerate(paths)}
    probe = ThumbLoader()
    threads = probe._pool.maxThreadCount()
    out: dict[str, Any] = {"images": len(paths), "threads": threads}

    def rate(fn: Any) -> float:
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, range(len(paths))))
        return round(len(paths) / (time.perf_counter() - started), 1)

    qt_cache, pil_cache = Path(cache_dir) / "app", Path(cache_dir) / "pillow"
    for run in ("cold", "warm"):
        out[f"app_{run}_per_s"] = rate(lambda i: thumb_qimage(paths[i], shas[i], qt_cache))
        out[f"pillow_draft_{run}_per_s"] = rate(lambda i: load_thumb(paths[i], shas[i], pil_cache))

    class Source:  # the loader's interface, without a database: sha256 from the files
        image_root = Path(image_dir)
        thumb_dir = qt_cache

        def sha256_of(self, ids: list[int]) -> dict[int, str]:
            return {i: shas[i] for i in ids}

    probe.set_source(Source())  # type: ignore[arg-type]
    probe.set_side(112)
    started = time.perf_counter()
    probe.request([(i, str(p.relative_to(image_dir))) for i, p in enumerate(paths)], [])
    while probe.busy:
        app.processEvents()
        time.sleep(0.001)
    out["loader_to_pixmaps_per_s"] = round(len(paths) / (time.perf_counter() - started), 1)
    probe.shutdown()
    return out


# -- driver ----------------------------------------------------------------------------------------
def run_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "child", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=1800,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def make_big_jpegs(folder: Path, count: int = 12) -> None:
    import numpy as np
    from PIL import Image

    if len(list(folder.glob("*.jpg"))) >= count:
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:3000, 0:4000]
    for i in range(count):
        rgb = np.stack([(xx + i * 97) % 256, (yy + i * 31) % 256, (xx ^ yy) % 256], -1)
        noisy = (rgb + rng.integers(0, 24, rgb.shape)).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"photo_{i:02d}.jpg", "JPEG", quality=88)


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        kind, *rest = sys.argv[2:]
        if kind == "thumbs":
            print(json.dumps(child_thumbs(rest[0], rest[1])))
        else:
            print(
                json.dumps(
                    child_open(rest[0], scroll=kind == "scroll", wait_thumbs=kind != "paint")
                )
            )
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/labelaudit-bench-gui"))
    parser.add_argument("--million", action="store_true", help="also the 1,000,000-image open")
    parser.add_argument("--cifar", type=Path, default=CIFAR)
    args = parser.parse_args()
    work: Path = args.work
    print(f"machine: {load_text()}")
    started = time.perf_counter()
    generate_images(work / "images", args.n)
    print(f"{args.n:,} JPEGs (256x192) ready in {time.perf_counter() - started:.1f} s")
    imported = build_project(work / "images", work / "project")
    if imported:
        print(f"imported with the real importer in {imported:.1f} s ({load_text()})")
    thumbs = work / "project" / "thumbs"
    shutil.rmtree(thumbs, ignore_errors=True)
    cold = run_child("open", str(work / "project"))
    warm = run_child("open", str(work / "project"))
    print(f"open {args.n:,} images, cold thumbnail cache: {json.dumps(cold)}")
    print(f"open {args.n:,} images, warm thumbnail cache: {json.dumps(warm)}")
    scrolled = run_child("scroll", str(work / "project"))
    print(f"scroll {args.n:,}: {json.dumps(scrolled)}  ({load_text()})")
    if args.million:
        build_million(work / "million")
        print(f"open 1,000,000 images: {json.dumps(run_child('paint', str(work / 'million')))}")
    if args.cifar.is_dir():
        cache = work / "thumbs-cifar"
        shutil.rmtree(cache, ignore_errors=True)
        cifar = run_child("thumbs", str(args.cifar), str(cache))
        print(f"thumbnails CIFAR-10 test JPEGs: {json.dumps(cifar)}")
    big = work / "photos-12mp"
    make_big_jpegs(big)
    cache = work / "thumbs-12mp"
    shutil.rmtree(cache, ignore_errors=True)
    print(f"thumbnails 12-megapixel JPEGs: {json.dumps(run_child('thumbs', str(big), str(cache)))}")
    print(f"done ({load_text()})")


if __name__ == "__main__":
    main()
