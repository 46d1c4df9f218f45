"""Mixed load, short version: ``benchmarks/load.py`` with a few clients for one minute against a fresh app process.

Every endpoint is fair game, a quarter of the calls carry invalid inputs and half the long ones are cancelled;
required: no unexpected error, the server alive, its RSS bounded, the output folder kept within its (tiny)
limit by the app's pruning, and no temp file left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.app


def test_one_minute_of_mixed_load(tmp_path: Path) -> None:
    report_path = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load.py"), "--clients", "6", "--minutes", "1",
                           "--seed", "1", "--cancel-share", "0.5", "--output-max-mb", "0.25",
                           "--output-margin-mb", "1", "--max-rss-mb", "3072", "--json", str(report_path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert report_path.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(report_path.read_text())

    assert report["unexpected"] == 0, report["unexpected_examples"]
    assert report["server_alive"] and report["stuck_clients"] == 0
    assert report["problems"] == [] and proc.returncode == 0, report["problems"]
    assert report["calls"] >= 40 and report["endpoints_called"] >= report["endpoints"] // 2
    assert report["outcomes"].get("ok", 0) > 0 and report["outcomes"].get("user_error", 0) > 0
    assert report["output_folder_final_mb"] <= 1.25
    assert report["temp_files_left"] == []


def test_gradio_pil_cache_copies_appear_complete(tmp_path: Path) -> None:
    """Two requests that return the same picture share Gradio's cached copy: the second must not rewrite the file
    the first one's client may be downloading (the race the full load run met)."""
    from gradio import processing_utils
    from PIL import Image

    from ui.common import install_atomic_pil_cache

    install_atomic_pil_cache()

    picture = Image.new("RGB", (16, 16), (30, 60, 90))
    first = Path(processing_utils.save_pil_to_cache(picture, str(tmp_path), format="png"))
    inode = first.stat().st_ino
    second = Path(processing_utils.save_pil_to_cache(picture.copy(), str(tmp_path), format="png"))

    assert second == first and second.stat().st_ino == inode
    assert Image.open(second).size == (16, 16)
    assert [p.name for p in second.parent.iterdir()] == [second.name]  # no staging file left
