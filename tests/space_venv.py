"""The virtual environment a Hugging Face Space builds: ``requirements.txt`` and nothing else.

A Space runs ``pip install -r requirements.txt`` on its Python (README.md's ``python_version``) and starts
``app.py``: no Makefile, no ``--no-deps`` extras, no dev requirements. :func:`space_venv` builds the same once per
content of ``requirements.txt`` (keyed by its sha256) under :data:`CACHE_DIR`, so reruns reuse it; a build that
stopped half way (no marker) is thrown away and redone, and venvs of older requirements are removed after a
successful build (each holds torch and its CUDA libraries, several GB).

Run as a script to build (or find) it and print its path: ``python tests/space_venv.py``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
CACHE_DIR = Path(os.environ.get("ENHANCERS_SPACE_VENV_DIR")
                 or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ai-image-enhancer")
PREFIX = "space-venv-"
MARKER = ".space-complete"
BUILD_TIMEOUT_S = 1800


def requirements_hash(path: Path = REQUIREMENTS) -> str:
    """First 16 hex digits of the sha256 of ``path``'s bytes (the cache key)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def base_python() -> str:
    """The interpreter the venv is made from: this test run's base Python (not its venv), else ``python3``."""
    base = getattr(sys, "_base_executable", "") or ""
    return base if base and Path(base).exists() else (shutil.which("python3") or sys.executable)


def venv_python(venv: Path) -> Path:
    """The venv's ``bin/python``."""
    return venv / "bin" / "python"


def space_venv(requirements: Path = REQUIREMENTS, log: Path | None = None) -> tuple[Path, float]:
    """Build (once per requirements hash) and return the Space's venv and the seconds this call spent building it
    (0 when it was cached).

    Built with ``python3 -m venv`` and ``pip install -r requirements.txt`` only (pip upgraded first, as the
    Space's image has a current pip). Concurrent callers wait on a file lock; the marker file is written last.

    Raises:
        RuntimeError: venv creation or pip failed, or a step took over :data:`BUILD_TIMEOUT_S`; the message ends with
            the tail of ``log``.
    """
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    venv = CACHE_DIR / f"{PREFIX}{requirements_hash(requirements)}"
    log = log or CACHE_DIR / f"{venv.name}.log"
    with (CACHE_DIR / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / MARKER).is_file():
            return venv, 0.0
        started = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
        with log.open("w") as out:
            def run(*cmd: str) -> None:
                out.write(f"$ {' '.join(cmd)}\n")
                out.flush()
                subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, check=True, cwd=ROOT,
                               timeout=BUILD_TIMEOUT_S)

            try:
                run(base_python(), "-m", "venv", str(venv))
                run(str(venv_python(venv)), "-m", "pip", "install", "-q", "--upgrade", "pip")
                run(str(venv_python(venv)), "-m", "pip", "install", "--progress-bar", "off", "-r", str(requirements))
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                out.flush()
                raise RuntimeError(f"building the Space venv failed ({e}); the end of {log}:\n"
                                   f"{log.read_text(errors='replace')[-3000:]}") from e
        (venv / MARKER).write_text(f"{requirements_hash(requirements)}\n")
        _remove_stale(keep=venv)
        return venv, time.monotonic() - started


def _remove_stale(keep: Path) -> None:
    """Remove venvs (and their logs and locks) built for other requirements."""
    for path in CACHE_DIR.glob(f"{PREFIX}*"):
        if path.name.split(".")[0] != keep.name:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


if __name__ == "__main__":
    path, seconds = space_venv()
    print(f"{path} (built in {seconds:.0f} s)" if seconds else f"{path} (cached)")
