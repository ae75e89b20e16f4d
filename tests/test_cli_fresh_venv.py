"""`rqs` installed from a built wheel into a fresh virtual environment, as
`pipx install .` does: the bundled definitions must be in the package, and
nothing may need settings, a database or the source tree.

The new environment borrows the project environment's third-party packages
(a path file naming its site-packages) instead of downloading them again;
only the wheel's build backend comes from the package index. Our own package
comes only from the wheel.
"""

from __future__ import annotations

import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_rqs_runs_from_a_fresh_virtual_environment(tmp_path: Path) -> None:
    wheels, env, work = tmp_path / "wheels", tmp_path / "env", tmp_path / "work"
    work.mkdir()
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("rqs_platform-*.whl"))
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        cwd=work,
    ).stdout.strip()
    # Third-party packages only: our own package in this environment is an
    # editable install, which a path file does not activate.
    borrowed = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib) / "borrowed.pth").write_text("\n".join(borrowed) + "\n")
    installed = _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        cwd=work,
    )
    assert installed.returncode == 0, installed.stderr
    origin = _run(
        [str(python), "-c", "import assessments; print(assessments.__file__)"],
        cwd=work,
    ).stdout
    assert origin.startswith(purelib), origin  # the wheel's copy, not the tree

    rqs = str(env / "bin" / "rqs")
    listed = _run([rqs, "instruments"], cwd=work)
    assert listed.returncode == 0, listed.stderr
    assert "rqs-1.0\tRQS 1.0\tpublished" in listed.stdout.splitlines()
    (work / "s.csv").write_text(
        "id,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\nA,1,1,0,0,3,1,0,1,2,1,0,2,2,0,0,1\n"
    )
    scored = _run([rqs, "score", "--instrument", "rqs-1.0", "s.csv"], cwd=work)
    assert scored.returncode == 0, scored.stderr
    assert scored.stdout.splitlines() == ["id,total,max,percent,band", "A,15,36,41.7,"]
    assert sorted(p.name for p in work.iterdir()) == ["s.csv"]
