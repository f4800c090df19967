"""Planning time of the paper's study on a cluster (goal: at most 5 s), and what the cluster would be sent.

Times ``snakemake -n --profile profiles/slurm --configfile configs/paper.yaml`` (528 runs and everything after
them) in a fresh copy of the working tree (less what git ignores: no results, no .snakemake state), several times,
and prints from the dry run's own output:

* the wall time (best and median of the repeats) against the 5 s goal, and the CPU time the dry run used (on a
  busy shared machine the wall time mostly measures the other processes);
* the number of jobs per rule (Snakemake's "Job stats");
* the number of SLURM jobs: every job of a non-local rule would be one sbatch without grouping; with the profile's
  ``groups``/``group-components`` the grouped rules' jobs go out as the group jobs the dry run lists;
* SLURM jobs per model (per train job): training and one group job before the checkpoint collect_runs; each
  model's sweeps job (planned after it, so not in a dry run) makes 3.

A dry run needs no cluster: the SLURM plugin only asks ``scontrol show config`` for MaxArraySize (5 s timeout;
no ``scontrol`` or no controller is fine), so this runs anywhere.

    python bench/bench_dag.py [--repeats 3] [--configfile configs/paper.yaml] [--profile profiles/slurm] [TARGET ...]
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

GOAL_S = 5.0
JOBS_PER_MODEL_BEFORE_CHECKPOINT = 2  # train + the extract -> measures -> sharpness group
ROOT = Path(__file__).resolve().parents[1]

JOB_HEADER = re.compile(r"^(?P<indent>\s*)(?:local)?(?:rule|checkpoint) (?P<rule>\w+):$")
GROUP_HEADER = re.compile(r"\] Group job (?P<group>\S+) \(jobs in lexicogr\. order\):")
STATS_ROW = re.compile(r"^(?P<rule>\w+)\s+(?P<count>\d+)$")
JOBID = re.compile(r"^\s+jobid: (?P<id>\d+)$")


def copy_tree(destination: Path) -> None:
    """The working tree as git would check it out, untracked files included, ignored ones (results/) not."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listing:
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())


def rule_files(workdir: Path) -> list[Path]:
    return [workdir / "Snakefile", *sorted((workdir / "rules").glob("*.smk"))]


def local_rules(workdir: Path) -> set[str]:
    """Rules that never become SLURM jobs: those named in ``localrules:``, and rules without an action (no
    shell/script/run/wrapper/notebook, like the target rule ``all``), which Snakemake completes itself."""
    names: set[str] = set()
    for path in rule_files(workdir):
        text = path.read_text() if path.exists() else ""
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("localrules:"):
                continue
            block = [line.split(":", 1)[1]]
            for following in lines[i + 1 :]:
                if following and not following[0].isspace():
                    break
                block.append(following)
            names.update(re.findall(r"\w+", " ".join(block)))
        for rule, body in re.findall(r"^(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n|\n)*)", text + "\n", re.M):
            if not re.search(r"^[ \t]+(shell|script|run|wrapper|notebook|cwl|template_engine):", body, re.M):
                names.add(rule)
    return names


def job_stats(output: str) -> dict[str, int]:
    """Snakemake's "Job stats" table: jobs per rule, in its order (the "total" row dropped)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Job stats:")
    stats: dict[str, int] = {}
    for line in lines[start + 3 :]:
        row = STATS_ROW.match(line.strip())
        if not row:
            break
        if row["rule"] != "total":
            stats[row["rule"]] = int(row["count"])
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configfile", default="configs/paper.yaml")
    parser.add_argument("--profile", default="profiles/slurm")
    parser.add_argument("targets", nargs="*", help="targets instead of the default one (the rule all)")
    args = parser.parse_args()
    command = ["snakemake", "-n", "--profile", args.profile, "--configfile", args.configfile]
    if args.targets:
        command += ["--", *args.targets]

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        copy_tree(workdir)
        walls, cpus, output = [], [], ""
        for _ in range(args.repeats):
            started, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            result = subprocess.run(
                [sys.executable, "-m", *command],
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            walls.append(time.perf_counter() - started)
            now = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime)
            output = result.stdout
            if result.returncode != 0:
                sys.exit(f"{' '.join(command)} failed:\n{output}")
        local = local_rules(workdir)

    stats = job_stats(output)
    top_level, grouped = Counter(), Counter()  # jobs outside any group; distinct jobs inside group jobs
    groups = Counter()
    members, rule, in_group = [], None, False  # (rule, jobid) of every job listed inside a group job
    for line in output.splitlines():
        group = GROUP_HEADER.search(line)
        if group:
            groups[group["group"]] += 1
            in_group = True
            continue
        header = JOB_HEADER.match(line)
        if header:
            rule, in_group = header["rule"], in_group and bool(header["indent"])
            if not in_group:
                top_level[rule] += 1
            continue
        jobid = JOBID.match(line)
        if jobid and in_group:
            members.append((rule, int(jobid["id"])))
    grouped.update(rule for rule, _ in set(members))
    duplicates = len(members) - len(set(members))
    not_submitted = {rule for rule in stats if rule in local}
    ungrouped_jobs = sum(n for rule, n in stats.items() if rule not in not_submitted)
    grouped_jobs = sum(n for rule, n in top_level.items() if rule not in not_submitted) + sum(groups.values())

    print(f"command                {' '.join(command)}  (in a fresh copy of the working tree)")
    print(
        f"wall time              best {min(walls):.2f} s  median {statistics.median(walls):.2f} s"
        f"  over {len(walls)} runs"
    )
    print(f"cpu time               best {min(cpus):.2f} s  median {statistics.median(cpus):.2f} s  (user + system)")
    print(f"goal                   {GOAL_S:.0f} s  (ratio best/goal {min(walls) / GOAL_S:.2f})")
    print("jobs per rule:")
    width = max(map(len, stats), default=4)
    for rule, count in stats.items():
        where = (
            "local" if rule in not_submitted else (f"in groups ({grouped[rule]})" if grouped[rule] else "sbatch each")
        )
        print(f"  {rule:<{width}}  {count:>6}  {where}")
    print(f"  {'total':<{width}}  {sum(stats.values()):>6}")
    print(
        f"SLURM jobs             {ungrouped_jobs} without grouping, {grouped_jobs} with the profile's grouping "
        f"({', '.join(f'{n} group jobs {g!r}' for g, n in groups.items()) or 'no group jobs'})"
    )
    models = stats.get("train", 0)
    if models:
        print(
            f"SLURM jobs per model   {grouped_jobs / models:.2f}  ({grouped_jobs} / {models} models; "
            f"goal before the checkpoint <= {JOBS_PER_MODEL_BEFORE_CHECKPOINT}, +1 sweeps job after it; "
            f"without grouping {ungrouped_jobs / models:.2f})"
        )
    if duplicates:
        print(
            f"WARNING                {duplicates} jobs are listed in more than one group job: Snakemake's "
            "group-components with a checkpoint in the workflow (snakemake/snakemake#1628)"
        )
    if "The run involves checkpoint jobs" in output:
        print(
            "note                   the DAG has checkpoint jobs: whatever waits on their output (an input function "
            "calling checkpoints.<rule>.get()) is planned, and counted, only once they have run"
        )


if __name__ == "__main__":
    main()
