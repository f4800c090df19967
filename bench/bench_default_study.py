"""Wall time of the default study's training stage from a fresh copy of the repository (goal: under 3 minutes on
2 cores). Copies the working tree (less what git ignores) to a temporary directory, so no cached result is reused,
and runs Snakemake
there up to runs.csv.

    python bench/bench_default_study.py [--cores 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

GOAL_S = 180.0
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        for name in files:
            target = Path(tmp) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((ROOT / name).read_bytes())
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "results/default/runs.csv",
                "--cores",
                str(args.cores),
                "--quiet",
                "all",
            ],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        runs = pd.read_csv(Path(tmp) / "results/default/runs.csv")
    fitted = runs[runs.train_acc >= 0.99]
    print(f"runs trained           {len(runs)}")
    print(f"runs fitted (>= 99%)   {len(fitted)}")
    print(f"test acc of fitted     min {fitted.test_acc.min():.3f}  median {fitted.test_acc.median():.3f}")
    print(f"wall time              {wall:.1f} s on {args.cores} cores")
    print(f"goal                   {GOAL_S:.0f} s  (ratio wall/goal {wall / GOAL_S:.2f})")


if __name__ == "__main__":
    main()
