"""profiles/slurm/bin/job-states (the plugin's sacct/squeue status query) and intraclass.slurm, without a cluster:
fake sacct/squeue/scancel scripts stand in for SLURM's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

from intraclass.slurm import put_job_state_wrappers_first

WRAPPERS = ROOT / "profiles/slurm/bin"
RUN = "0f6e-run"
SACCT_QUERY = ["-X", "--parsable2", "--noheader", "--format=JobIdRaw,State", "--endtime", "now", "--name", RUN]


def fake(folder: Path, name: str, stdout: str, rc: int = 0) -> None:
    """A command that logs its arguments to <name>.calls, prints ``stdout`` and exits with ``rc``."""
    script = folder / name
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {folder / name}.calls\nprintf '%s' '{stdout}'\nexit {rc}\n")
    script.chmod(0o755)


def status_query(fakes: Path, tool: str = "sacct") -> tuple[str, str]:
    args = SACCT_QUERY if tool == "sacct" else ["--format=%i|%T", "--states=all", "--noheader", "--name", RUN]
    result = subprocess.run(
        [str(WRAPPERS / tool), *args],
        env={**os.environ, "PATH": f"{WRAPPERS}:{fakes}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,  # the wrapper never fails a status query
    )
    return result.stdout, result.stderr


def test_states_the_plugin_would_poll_forever_are_corrected(tmp_path):
    fake(tmp_path, "sacct", "1|CANCELLED by 0\n2|PREEMPTED\n3|NODE_FAIL\n4|RUNNING\n5|COMPLETED\n")
    fake(tmp_path, "squeue", "3|PENDING|BeginTime\n4|RUNNING|None\n")
    fake(tmp_path, "scancel", "")
    out, _ = status_query(tmp_path)
    # 1 scancel -> CANCELLED; 2 preempted for good -> CANCELLED; 3 requeued by SLURM -> its queue state
    assert out.split() == ["1|CANCELLED", "2|CANCELLED", "3|PENDING", "4|RUNNING", "5|COMPLETED"]
    assert not (tmp_path / "scancel.calls").exists()


def test_a_job_that_can_never_start_is_cancelled_and_reported_failed(tmp_path):
    fake(tmp_path, "sacct", "7|PENDING\n")  # 8 is not in accounting yet
    fake(tmp_path, "squeue", "7|PENDING|PartitionConfig\n8|PENDING|InvalidQOS\n9|PENDING|Resources\n")
    fake(tmp_path, "scancel", "")
    out, err = status_query(tmp_path)
    assert sorted(out.split()) == ["7|FAILED", "8|FAILED"]
    assert (tmp_path / "scancel.calls").read_text().split() == ["7", "8"]
    assert "SLURM job 7 can never start (PartitionConfig)" in err


def test_a_failed_sacct_query_is_answered_by_squeue(tmp_path):
    fake(tmp_path, "sacct", "", rc=1)  # slurmdbd down
    fake(tmp_path, "squeue", "4|RUNNING|None\n5|COMPLETED|None\n")
    out, err = status_query(tmp_path)
    assert out.split() == ["4|RUNNING", "5|COMPLETED"]
    assert "answered from squeue (2 jobs)" in err


def test_no_answer_at_all_is_no_line_and_success(tmp_path):
    """The plugin keeps polling a job it gets no line for; a failed query would drop every job from polling."""
    fake(tmp_path, "sacct", "", rc=1)
    fake(tmp_path, "squeue", "", rc=1)
    for tool in ("sacct", "squeue"):
        out, _ = status_query(tmp_path, tool)
        assert out.strip() == ""


def test_other_calls_go_to_the_real_command_unchanged(tmp_path):
    fake(tmp_path, "sacct", "whatever\n", rc=3)
    result = subprocess.run(
        [str(WRAPPERS / "sacct"), "-j", "7.0", "--format=Reason"],
        env={**os.environ, "PATH": f"{WRAPPERS}:{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (3, "whatever\n")
    assert (tmp_path / "sacct.calls").read_text() == "-j 7.0 --format=Reason\n"


@pytest.mark.parametrize("has_squeue", [True, False])
def test_wrappers_go_first_on_path_once_where_slurm_is(tmp_path, monkeypatch, has_squeue):
    workflow = tmp_path / "workflow"
    (workflow / "profiles/slurm/bin").mkdir(parents=True)
    tools = tmp_path / "tools"
    tools.mkdir()
    if has_squeue:
        fake(tools, "squeue", "")
    monkeypatch.setenv("PATH", str(tools))  # not /usr/bin: this machine may have SLURM's squeue there
    assert put_job_state_wrappers_first(workflow) is has_squeue
    assert put_job_state_wrappers_first(workflow) is has_squeue  # a job's Snakemake reads the Snakefile again
    expected = [str(workflow / "profiles/slurm/bin")] * has_squeue + [str(tools)]
    assert os.environ["PATH"].split(":") == expected
