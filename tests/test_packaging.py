"""The wheel carries the data folders: build it, install it in a fresh venv, run `aims` elsewhere.

Slow (a build plus a venv with the dependencies from the package index; the pip cache helps),
so it is marked `slow`; `make test` still runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_DIRS = ("ontology", "shapes", "queries", "examples")
SKIP = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", ".aims", ".aims-demo", "__pycache__",
    ".*_cache", ".hypothesis", "node_modules",
)

PROBE = """
import json, sys
from mapper import resources
dirs = {name: str(resources.data_dir(name)) for name in sys.argv[1:]}
print(json.dumps({
    "dirs": dirs,
    "ontology_triples": len(resources.ontology()),
    "shape_triples": len(resources.shapes()),
    "queries": len(resources.query_files()),
    "package": resources.__file__,
}))
"""


def run(cmd: list[str], *, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["AIMS_STORE"] = str(cwd / ".aims")
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.mark.slow
def test_wheel_installs_and_finds_its_data(tmp_path: Path) -> None:
    # build from a clean copy, so nothing of the checkout (build/, .venv) leaks into the wheel
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    dist = tmp_path / "dist"
    ok(run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)],
           cwd=tmp_path))
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels

    shipped = set(zipfile.ZipFile(wheels[0]).namelist())
    present = [d for d in DATA_DIRS if (ROOT / d).is_dir()]
    for name in present:
        files = [
            p for p in (ROOT / name).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
        for path in files:
            inside = f"mapper/_data/{name}/{path.relative_to(ROOT / name).as_posix()}"
            assert inside in shipped, f"{inside} is missing from the wheel"
    assert "mapper/reasoning.py" in shipped and "api/__init__.py" in shipped

    venv = tmp_path / "venv"
    ok(run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path))
    bin_dir = venv / "bin"
    ok(run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheels[0])],
           cwd=tmp_path))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    helptext = ok(run([str(bin_dir / "aims"), "--help"], cwd=elsewhere))
    assert "Commands:" in helptext and "ontology" in helptext

    probe = json.loads(ok(run([str(bin_dir / "python"), "-c", PROBE, *present], cwd=elsewhere)))
    site = str(venv.resolve())
    assert probe["package"].startswith(site), probe["package"]
    for name, where in probe["dirs"].items():
        assert where.startswith(site) and "site-packages" in where, (name, where)
        assert where.endswith(f"mapper/_data/{name}"), (name, where)
    assert probe["ontology_triples"] > 1000
    assert probe["queries"] == len(list((ROOT / "queries").glob("*.rq")))

    check = run([str(bin_dir / "aims"), "ontology", "check", "--store", "memory"], cwd=elsewhere)
    assert check.returncode == 0 and check.stdout.startswith("consistent ("), check

    demo = ok(run([str(bin_dir / "aims"), "demo", "--folder", str(elsewhere / "demo-store")],
                  cwd=elsewhere, timeout=300))
    assert "Meridian" in demo
