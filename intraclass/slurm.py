"""The SLURM plugin's job-status queries go through the workflow's ``profiles/slurm/bin`` wrappers.

snakemake-executor-plugin-slurm 2.8 runs ``sacct`` or ``squeue`` by name, from PATH, and polls forever a job
whose state it does not know exactly, or whose query failed (see ``profiles/slurm/bin/job-states``). A profile
cannot set PATH, so the Snakefile calls :func:`put_job_state_wrappers_first` for every run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def put_job_state_wrappers_first(workflow_dir: str | Path) -> bool:
    """Put ``<workflow_dir>/profiles/slurm/bin`` first on this process's PATH (so also on its children's), once.

    Parameters
    ----------
    workflow_dir : str or Path
        The workflow's base directory (Snakemake's ``workflow.basedir``).

    Returns
    -------
    bool
        True if the folder is first on PATH now; False where ``squeue`` is not on PATH (no SLURM client: the
        wrappers would have nothing to wrap) or the folder does not exist.
    """
    wrappers = Path(workflow_dir) / "profiles" / "slurm" / "bin"
    if not wrappers.is_dir() or shutil.which("squeue") is None:
        return False
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != str(wrappers):
        os.environ["PATH"] = f"{wrappers}{os.pathsep}{path}" if path else str(wrappers)
    return True
