"""A plain ``pip install .`` (not editable) into a fresh venv gives a working ``md2tex`` whose
templates come from the installed package, not from the source tree.

The venv reads the running environment's packages through a path file, so that the
dependencies need no download; md2tex itself is built from a copy of the repository and
installed with ``--no-deps``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from helpers import ROOT

pytestmark = pytest.mark.slow


def _can_build_without_isolation() -> bool:
    import importlib.util

    import setuptools

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


if not _can_build_without_isolation():  # pragma: no cover - depends on the machine
    pytest.skip("setuptools < 70.1 needs the 'wheel' package to build without isolation "
                "(pip install '.[test]' installs it)", allow_module_level=True)

_SKIP = shutil.ignore_patterns(".git", "*.egg-info", "build", "dist", "__pycache__", ".*cache",
                               ".hypothesis", ".benchmarks", "*.pdf", "tests", "benchmarks")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, input=input, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("install")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=_SKIP)
    env_dir = base / "venv"
    made = run([sys.executable, "-m", "venv", str(env_dir)], cwd=base)
    assert made.returncode == 0, made.stderr
    py = env_dir / "bin" / "python"
    # the dependencies come from the running environment (a path file: its own .pth files,
    # md2tex's editable install among them, are not read), so nothing is downloaded
    site = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=base).stdout.strip()
    paths = sysconfig.get_paths()
    Path(site, "md2tex-test-deps.pth").write_text(
        "\n".join(sorted({paths["purelib"], paths["platlib"]})) + "\n", encoding="utf-8")
    pip = run([str(py), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
               "--no-index", "--disable-pip-version-check", "-q", str(src)], cwd=base)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    shutil.rmtree(src)  # the installed package must not need its source tree
    return env_dir


def clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_installed_package_is_used(venv: Path, tmp_path: Path) -> None:
    code = ("import md2tex, importlib.resources as r; "
            "print(md2tex.__file__); print(r.files('md2tex.templates')); "
            "print(r.files('md2tex').joinpath('py.typed').is_file())")
    proc = run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=clean_env(venv))
    assert proc.returncode == 0, proc.stderr
    module, templates, typed = proc.stdout.split("\n")[:3]
    assert module.startswith(str(venv)), module
    assert templates.startswith(str(venv)), templates
    assert Path(templates, "article.tex.j2").is_file()
    assert typed == "True"


def test_console_script_converts_with_packaged_templates(venv: Path, tmp_path: Path) -> None:
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: Installed\n---\n\n# Hi\n\nText with $x^2$.\n\n"
                    "```python\nprint(1)\n```\n", encoding="utf-8")
    exe = venv / "bin" / "md2tex"
    assert exe.is_file()
    proc = run([str(exe), "post.md", "-o", "post.tex"], cwd=tmp_path, env=clean_env(venv))
    assert proc.returncode == 0, proc.stderr
    tex = (tmp_path / "post.tex").read_text(encoding="utf-8")
    assert tex.startswith("\\documentclass")
    assert "\\title{Installed}" in tex and "\\section{Hi}" in tex
    assert "\\begin{Verbatim}" in tex and "\\def\\PYZat" in tex
    version = run([str(exe), "--version"], cwd=tmp_path, env=clean_env(venv))
    assert version.returncode == 0 and "md2tex, version" in version.stdout
    module = run([str(venv / "bin" / "python"), "-m", "md2tex", "-", "-o", "-"], cwd=tmp_path,
                 env=clean_env(venv), input="Piped *in*.\n")
    assert module.returncode == 0 and "Piped \\emph{in}." in module.stdout
