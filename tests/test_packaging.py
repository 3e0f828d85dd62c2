"""minigrad as a user installs it: from its wheel, in a fresh virtual environment, far from the
repository, it finds its bundled specs; and the build prints no warning.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# What the build reads: pyproject.toml names everything else.
SOURCES = ["pyproject.toml", "README.md", "minigrad", "models"]


def run(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def test_pyproject_lists_every_package() -> None:
    """The package list is explicit (models/ is mapped in): a new subpackage must be added."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "minigrad").rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == found | {"minigrad.models"}
    assert setuptools["package-dir"] == {"minigrad.models": "models"}


@pytest.mark.slow
def test_the_wheel_finds_its_specs_by_name_anywhere(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for name in SOURCES:  # a clean copy: the build leaves build/ and *.egg-info behind
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(ROOT / name, source / name)
    build = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-w",
        tmp_path / "dist",
        source,
        cwd=tmp_path,
    )
    log = build.stdout + build.stderr
    for warning in ("BuildBackendWarning", "DeprecationWarning", "deprecated"):
        assert warning not in log, log
    (wheel,) = (tmp_path / "dist").glob("minigrad_autograd-*.whl")

    env = tmp_path / "env"
    run(sys.executable, "-m", "venv", env, cwd=tmp_path)
    run(env / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    summary = run(env / "bin" / "minigrad", "summary", "seed_cnn", cwd=elsewhere)
    assert summary.stdout.startswith("seed_cnn: The design document's CNN")
    assert "total params: 2,970" in summary.stdout
    where = run(
        env / "bin" / "python",
        "-c",
        "import minigrad, minigrad.nn as nn; print(minigrad.__file__); print(*nn.bundled_specs())",
        cwd=elsewhere,
    ).stdout.splitlines()
    assert Path(where[0]).is_relative_to(env)  # the installed copy, not the repository
    assert where[1].split() == sorted(p.stem for p in (ROOT / "models").glob("*.toml"))
