"""Wall time of the whole default study, every stage, from a fresh copy of the repository (goal: at most 3 minutes on
2 cores), with the jobs per rule and the mean per-job overhead.

Copies the working tree (less what git ignores) to a temporary directory, so no cached result is reused, and runs
`snakemake --cores N` there. Per rule it prints the number of jobs and their mean wall time (from Snakemake's own
log); the per-job overhead is the time a job's process spends before its first line of work: starting Python and
importing what the rule's script imports, measured by running exactly those imports.

It also prints the CPU time of all the study's processes (user + system): on N idle cores the wall time cannot be
below CPU / N, so the goal needs at most N x 180 s of CPU; and the wall time less the wait for `scontrol show
config` that the SLURM plugin runs when Snakemake starts (as `bench/bench_dag.py` does: immediate on a cluster,
absent without SLURM, a 10 s timeout where the SLURM client is installed but no controller answers).

    python bench/bench_default_study.py [--cores 2]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pandas as pd
from bench_dag import copy_tree, scontrol_wait  # bench/ is on sys.path

GOAL_S = 180.0
ROOT = Path(__file__).resolve().parents[1]
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$")
STARTED = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this new folder and keep it (results, report) afterwards")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True)
    with contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory() as tmp:
        copy_tree(Path(tmp))
        wait = scontrol_wait()
        started, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", str(args.cores)],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime
        if result.returncode != 0:
            sys.exit(f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        durations = job_durations(result.stderr)
        runs = pd.read_csv(Path(tmp) / "results/default/runs.csv")
        overhead = {rule: import_seconds(Path(tmp) / "scripts" / f"{script}.py") for rule, script in SCRIPTS.items()}
    kept = runs[runs.train_acc >= 0.99]
    print(f"runs trained           {len(runs)}  (fitted >= 99%: {len(kept)})")
    print(f"test acc of fitted     min {kept.test_acc.min():.3f}  median {kept.test_acc.median():.3f}")
    print(f"{'rule':<20}{'jobs':>6}{'mean s':>9}{'overhead s':>12}")
    for rule, seconds in sorted(durations.items(), key=lambda item: -sum(item[1])):
        cost = overhead.get(rule)
        print(f"{rule:<20}{len(seconds):>6}{statistics.mean(seconds):>9.1f}{'' if cost is None else f'{cost:.2f}':>12}")
    jobs = sum(len(s) for s in durations.values())
    weighted = [overhead[r] for r, s in durations.items() for _ in s if r in overhead]
    print(f"jobs                   {jobs}")
    print(
        f"mean per-job overhead  {statistics.mean(weighted):.2f} s (process start and the script's imports; "
        f"{sum(weighted):.0f} s over the jobs)"
    )
    print(
        f"cpu time               {cpu:.1f} s, all processes (user + system); / {args.cores} cores = "
        f"{cpu / args.cores:.1f} s, the least wall time these cores allow"
    )
    print(f"wall time              {wall:.1f} s on {args.cores} cores")
    print(
        f"wall less scontrol     {wall - wait:.1f} s  (`scontrol show config`, run by the SLURM plugin when Snakemake "
        f"starts, took {wait:.1f} s here)"
    )
    print(
        f"goal                   {GOAL_S:.0f} s  (ratio wall/goal {wall / GOAL_S:.2f}; less scontrol "
        f"{(wall - wait) / GOAL_S:.2f}; cpu / cores / goal {cpu / args.cores / GOAL_S:.2f})"
    )


# Each rule's script (the rules that run one); the overhead of the others (checkpoint, all) is Snakemake's own.
SCRIPTS = {
    "prepare_dataset": "prepare_dataset",
    "train": "train",
    "extract": "extract",
    "extract_snapshots": "extract",
    "measures": "measures",
    "measures_snapshots": "measures",
    "pixel_controls": "pixel_controls",
    "sharpness": "sharpness",
    "collect_runs": "collect_runs",
    "collect_measures": "collect_measures",
    "kendall": "kendall",
    "summary": "summary",
    "cmi": "cmi",
    "sign_error": "sign_error",
    **{f"fig{n}": f"fig{n}" for n in ("2", "3", "4", "5", "6", "7", "8", "11")},
    "fig3_sharpness": "fig3_sharpness",
}


def job_durations(log: str) -> dict[str, list[float]]:
    """Wall seconds of every job, by rule, from Snakemake's log (second resolution: start and finish stamps)."""
    stamp, rule, starts, rules, out = None, None, {}, {}, defaultdict(list)
    for line in log.splitlines():
        if match := STAMP.match(line):
            stamp = datetime.strptime(match[1], "%a %b %d %H:%M:%S %Y")
        elif match := STARTED.match(line):
            rule = match[1]
        elif (match := JOBID.match(line)) and rule:
            starts[match[1]], rules[match[1]], rule = stamp, rule, None
        elif (match := FINISHED.match(line)) and match[1] in starts:
            out[rules[match[1]]].append((stamp - starts[match[1]]).total_seconds())
    return out


def import_seconds(script: Path) -> float:
    """Seconds (best of 3) to start Python and run the script's imports: its statements before the first that is
    neither an import nor its docstring."""
    body = ast.parse(script.read_text()).body
    imports = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(ast.unparse(node))
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "\n".join(imports)], cwd=ROOT, check=True)
        best = min(best, time.perf_counter() - started)
    return best


if __name__ == "__main__":
    main()
