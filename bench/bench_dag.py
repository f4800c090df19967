"""Planning time of the paper's study on a cluster (goal: at most 5 s), and what the cluster would be sent.

Times ``snakemake -n --profile profiles/slurm --configfile configs/paper.yaml`` (528 runs and everything after
them) in a fresh copy of the working tree (less what git ignores: no results, no .snakemake state), several times,
and prints from the dry run's own output:

* the CPU time the dry run used (user + system; on a busy shared machine the wall time mostly measures the other
  processes), the wall time (best and median of the repeats), and the wall time less the ``scontrol`` wait (below),
  against the 5 s goal;
* the floor: the CPU time of the same dry run of a synthetic workflow made from this one's jobs (same rules, local
  rules and profile, same jobs with as many input and output files each, the same dependencies) whose rules do
  nothing and read no config: what Snakemake itself costs for this DAG; the rest is our workflow's;
* the number of jobs per rule (Snakemake's "Job stats");
* the number of SLURM jobs: every job of a non-local rule would be one sbatch without grouping; with the profile's
  ``groups``/``group-components`` the grouped rules' jobs go out as the group jobs the dry run lists;
* SLURM jobs per model (per train job): training and one group job before the checkpoint collect_runs; each
  model's sweeps job (planned after it, so not in a dry run) makes 3.

A dry run needs no cluster, but every Snakemake command imports the SLURM plugin, which runs ``scontrol show config``
(10 s timeout) for MinJobAge: immediate on a cluster, absent where SLURM is not installed, and a wait until the
timeout where the SLURM client is installed but no controller answers (this project's test machines). The bench
times that command on its own and reports the wall time less that wait beside the raw one.

    python bench/bench_dag.py [--repeats 3] [--configfile configs/paper.yaml] [--profile profiles/slurm] [TARGET ...]
"""

from __future__ import annotations

import argparse
import json
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
SCONTROL_TIMEOUT_S = 10  # snakemake_executor_plugin_slurm.job_status_query.get_min_job_age
JOBS_PER_MODEL_BEFORE_CHECKPOINT = 2  # train + the extract -> measures -> sharpness group
ROOT = Path(__file__).resolve().parents[1]

JOB_HEADER = re.compile(r"^(?P<indent>\s*)(?:local)?(?:rule|checkpoint) (?P<rule>\w+):$")
GROUP_HEADER = re.compile(r"\] Group job (?P<group>\S+) \(jobs in lexicogr\. order\):")
STATS_ROW = re.compile(r"^(?P<rule>\w+)\s+(?P<count>\d+)$")
JOBID = re.compile(r"^\s+jobid: (?P<id>\d+)$")
FILES = re.compile(r"^\s+(?P<kind>input|output|log): (?P<files>.*)$")


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


def dry_runs(command: list[str], workdir: Path, repeats: int) -> tuple[list[float], list[float], str]:
    """Wall and CPU times (children's user + system) of ``repeats`` runs of ``command``, and the last one's output."""
    walls, cpus, output = [], [], ""
    for _ in range(repeats):
        started, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            [sys.executable, "-m", *command], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        walls.append(time.perf_counter() - started)
        now = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime)
        output = result.stdout
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed in {workdir}:\n{output}")
    return walls, cpus, output


def scontrol_wait() -> float:
    """Wall time of the SLURM plugin's ``scontrol show config`` at import (0 where scontrol is not installed)."""
    started = time.perf_counter()
    try:
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=SCONTROL_TIMEOUT_S)
    except FileNotFoundError:
        return 0.0
    except subprocess.TimeoutExpired:
        pass
    return time.perf_counter() - started


def dry_run_jobs(output: str) -> dict[int, tuple[str, list[str], list[str], list[str]]]:
    """Every job the dry run lists (group members once): jobid -> (rule, input, output and log files)."""
    jobs, rule, files = {}, None, {}
    for line in output.splitlines():
        header = JOB_HEADER.match(line)
        if header:
            rule, files = header["rule"], {"input": [], "output": [], "log": []}
            continue
        listed = FILES.match(line)
        if listed and rule:
            files[listed["kind"]] = listed["files"].split(", ")
        jobid = JOBID.match(line)
        if jobid and rule:
            jobs[int(jobid["id"])] = (rule, files["input"], files["output"], files["log"])
    return jobs


def write_floor_workflow(jobs: dict[int, tuple[str, list[str], list[str], list[str]]], local: set[str], workdir: Path):
    """A workflow with the same jobs, files per job and dependencies as ``jobs``, whose rules do nothing.

    Job k of rule R writes ``out/R/k.0`` ... and logs to ``out/R/k.log0`` ... (as many files as R's jobs); a file
    the dry run reads but no job writes is an existing empty file ``src/N``. Rules keep their names, so the profile's
    groups and resources apply as they do to the real jobs, and run an empty script (Snakemake reads a rule's script
    for each job of a dry run). ``all`` (the first rule) and rules of one job have static inputs, the others an
    input function (a dictionary lookup).
    """
    by_rule: dict[str, list[tuple[list[str], list[str], list[str]]]] = {}
    for rule, *files in jobs.values():
        by_rule.setdefault(rule, []).append(files)
    renamed = {
        path: f"out/{rule}/{k}.{j}"
        for rule, rule_jobs in by_rule.items()
        for k, (_, outputs, _) in enumerate(rule_jobs)
        for j, path in enumerate(outputs)
    }
    read = {path for rule_jobs in by_rule.values() for inputs, _, _ in rule_jobs for path in inputs}
    sources = sorted(read - set(renamed))
    renamed.update({path: f"src/{n}" for n, path in enumerate(sources)})
    (workdir / "src").mkdir()
    for n in range(len(sources)):
        (workdir / f"src/{n}").touch()
    (workdir / "nothing.py").touch()
    inputs = {rule: [[renamed[path] for path in ins] for ins, _, _ in rule_jobs] for rule, rule_jobs in by_rule.items()}
    (workdir / "inputs.json").write_text(json.dumps(inputs))

    lines = ["import json", 'INPUTS = json.load(open("inputs.json"))', "", "wildcard_constraints:", '    k=r"\\d+"', ""]
    if local & set(by_rule):
        lines += ["localrules: " + ", ".join(sorted(local & set(by_rule))), ""]
    for rule in sorted(by_rule, key=lambda name: name != "all"):
        rule_jobs = by_rule[rule]
        _, outputs, logs = rule_jobs[0]
        k = "0" if len(rule_jobs) == 1 else "{k}"
        lines.append(f"rule {rule}:")
        if len(rule_jobs) == 1:
            lines.append(f"    input: INPUTS[{rule!r}][0]")
        else:
            lines.append(f"    input: lambda wildcards: INPUTS[{rule!r}][int(wildcards.k)]")
        if outputs:
            lines.append(f"    output: {[f'out/{rule}/{k}.{j}' for j in range(len(outputs))]!r}")
            lines.append(f"    log: {[f'out/{rule}/{k}.log{j}' for j in range(len(logs))]!r}")
            lines.append('    script: "nothing.py"')
        lines.append("")
    (workdir / "Snakefile").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configfile", default="configs/paper.yaml")
    parser.add_argument("--profile", default="profiles/slurm")
    parser.add_argument("targets", nargs="*", help="targets instead of the default one (the rule all)")
    args = parser.parse_args()
    profile_dry_run = ["snakemake", "-n", "--profile", str(ROOT / args.profile)]  # the floor's command: no config
    command = [*profile_dry_run, "--configfile", args.configfile]
    if args.targets:
        command += ["--", *args.targets]

    wait = scontrol_wait()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as floor_tmp:
        workdir, floor_dir = Path(tmp), Path(floor_tmp)
        copy_tree(workdir)
        walls, cpus, output = dry_runs(command, workdir, args.repeats)
        local = local_rules(workdir)
        jobs = dry_run_jobs(output)
        write_floor_workflow(jobs, local, floor_dir)
        _, floor_cpus, floor_output = dry_runs(profile_dry_run, floor_dir, args.repeats)
    floor_jobs = dry_run_jobs(floor_output)
    if len(floor_jobs) != len(jobs):
        sys.exit(f"the synthetic workflow has {len(floor_jobs)} jobs, the dry run {len(jobs)}:\n{floor_output}")

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

    best_wall, best_cpu, floor_cpu = min(walls), min(cpus), min(floor_cpus)
    print(f"command                {' '.join(command)}  (in a fresh copy of the working tree)")
    print(f"jobs                   {len(jobs)}")
    print(f"cpu time               best {best_cpu:.2f} s  median {statistics.median(cpus):.2f} s  (user + system)")
    print(
        f"wall time              best {best_wall:.2f} s  median {statistics.median(walls):.2f} s"
        f"  over {len(walls)} runs"
    )
    print(
        f"wall less scontrol     best {best_wall - wait:.2f} s  (`scontrol show config`, which the SLURM plugin runs "
        f"when imported, took {wait:.2f} s here; on a cluster it answers at once, without SLURM it is absent)"
    )
    print(
        f"goal                   {GOAL_S:.0f} s  (best wall / goal {best_wall / GOAL_S:.2f}; less scontrol "
        f"{(best_wall - wait) / GOAL_S:.2f}; cpu {best_cpu / GOAL_S:.2f})"
    )
    print(
        f"floor                  cpu best {floor_cpu:.2f} s: the same DAG ({len(jobs)} jobs, their files and "
        f"dependencies, same profile) with rules that do nothing; ours: {best_cpu - floor_cpu:.2f} s "
        f"({(best_cpu - floor_cpu) / len(jobs) * 1000:.2f} ms per job)"
    )
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
