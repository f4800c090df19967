"""The package stands without the checkout: a wheel built from it, installed in a fresh virtual environment, holds the
config schema and validates a study from a directory with no checkout on the path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from intraclass.config import SCHEMA_RESOURCE, resolve_config

# Run in the fresh environment: the study on stdin resolved, a SharpnessConfig built from it (it reads the schema
# too), and a study without experiments refused, all reported as JSON.
CHECK = """
import json, sys
import yaml
import intraclass
from intraclass.config import ConfigError, resolve_config
from intraclass.sharpness import SharpnessConfig

resolved = resolve_config(yaml.safe_load(sys.stdin))
try:
    resolve_config({"study": "no-experiments"})
    refusal = None
except ConfigError as error:
    refusal = str(error)
print(json.dumps({"package": intraclass.__file__, "resolved": resolved, "refusal": refusal,
                  "subset_size": SharpnessConfig(**resolved["sharpness"]).subset_size}))
"""


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_validates_a_config(tmp_path):
    # Built from a copy of the checkout's package files, so that the build leaves nothing in the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "intraclass", source / "intraclass", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", source], check=True)
    (wheel,) = (tmp_path / "dist").glob("intraclass-*.whl")
    assert f"intraclass/{SCHEMA_RESOURCE}" in zipfile.ZipFile(wheel).namelist()

    # A fresh venv sees this environment's dependencies through a .pth line (its .pth files, among them the
    # checkout's editable install, are not run from there); the wheel goes into the venv's own site-packages.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [python, "-m", "pip", "--disable-pip-version-check", "install", "--no-deps", "--no-index"]
    subprocess.run([*install, "--ignore-installed", wheel], check=True, cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    study = (ROOT / "configs" / "cifar-quick.yaml").read_text()
    result = subprocess.run(
        [python, "-c", CHECK], input=study, capture_output=True, text=True, cwd=elsewhere, env=env, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(Path(purelib)), report["package"]
    assert report["resolved"] == resolve_config(yaml.safe_load(study))
    assert report["subset_size"] == 5000
    assert "(top level): 'experiments' is a required property" in report["refusal"]
