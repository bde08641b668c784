"""`pip install .` (a wheel, not editable) works: prompts and vocabulary ship in the package."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import write_tiny_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_in_a_fresh_virtual_environment_indexes_and_answers(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(ROOT)], check=True, timeout=600)
    wheel = next(dist.glob("unionbot-*.whl"))
    env_dir = tmp_path / "venv"
    # The dependencies come from this interpreter's site-packages; the package itself only from the wheel.
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, timeout=600)
    work = tmp_path / "work"  # not the repository: nothing may be found from the source tree
    docs = write_tiny_corpus(work / "documents")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIONBOT_")} | {"UNIONBOT_EMBEDDER": "fake"}
    code = ("import bot, sys; from pathlib import Path; "
            "sys.exit(0 if Path(bot.__file__).is_relative_to(Path(sys.prefix)) else 'bot imported from ' + bot.__file__)")
    subprocess.run([str(py), "-c", code], check=True, cwd=work, env=env, timeout=60)
    unionbot = env_dir / "bin" / "unionbot"
    r = subprocess.run([str(unionbot), "index", "--documents", str(docs), "--index-dir", str(work / "index")],
                       cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(unionbot), "ask", "公司拖欠工资怎么办？", "--index-dir", str(work / "index")],
                       cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "拖欠" in r.stdout and "出处" in r.stdout, r.stdout
