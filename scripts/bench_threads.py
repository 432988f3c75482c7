"""Torch CPU training throughput by thread count, on a quiet machine and beside one busy process.

Usage: python scripts/bench_threads.py [--seconds 8]

Each measurement runs in its own process (torch reads its thread settings once): a small conv
net's training steps on 64 random 32x32 images, images/s over ``--seconds``. Then the same with
one extra process spinning on a core. On a 2-core machine this shows why ``labelaudit scan``
suggests ``--threads 1`` on a busy machine: torch's OpenMP threads spin while they wait for each
other, so a second thread that has to share its core slows every step.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import time

STEP = """
import time, torch
torch.set_num_threads({threads})
m = torch.nn.Sequential(
    torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10))
opt = torch.optim.SGD(m.parameters(), lr=0.01)
x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
def step():
    opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
for _ in range(3):
    step()
start, n = time.perf_counter(), 0
while time.perf_counter() - start < {seconds}:
    step(); n += 1
print(n * 64 / (time.perf_counter() - start))
"""


def images_per_s(threads: int, seconds: float) -> float:
    code = STEP.format(threads=threads, seconds=seconds)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def spin() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load before {os.getloadavg()[0]:.2f}")
    for label, busy in (("quiet", False), ("beside one busy process", True)):
        hog = mp.Process(target=spin, daemon=True) if busy else None
        if hog is not None:
            hog.start()
            time.sleep(1)
        try:
            for threads in (1, 2):
                rate = images_per_s(threads, args.seconds)
                print(f"{label:<24} {threads} thread(s): {rate:8.0f} training images/s")
        finally:
            if hog is not None:
                hog.terminate()
    print(f"load after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
