"""Cancellation against the launched app: a client that presses Stop (``Job.cancel``, which POSTs /cancel like the
Stop button) or disconnects during a long Gatys run or a large SR run frees the worker within a few seconds, and
the next queued request starts.

The app runs one model event at a time on CPU (``MODEL_EVENTS``), so the quick request queued behind the long one
can only finish early if the long one really stopped.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.utils import Status

from enhancers import imageio

ROOT = Path(__file__).resolve().parents[1]
STYLE_IMAGE = ROOT / "examples" / "styles" / "elephants.jpg"
FREED_WITHIN_S = 6.0  # from the cancel to the end of the quick request queued behind: the heartbeat (0.5 s),
# the step or tile under way, and the quick request itself

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def client(app_url: str) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cancel")
    g = torch.Generator().manual_seed(0)
    return {
        "small": imageio.save_png(folder / "small.png", torch.rand(1, 3, 24, 32, generator=g)),
        "content": imageio.save_png(folder / "content.png", torch.rand(1, 3, 96, 128, generator=g)),
        # 1200×900 through sr/compact-x2 in 64-px tiles: ~300 tiles, well over a minute on a CPU
        "large": imageio.save_png(folder / "large.png", torch.rand(1, 3, 900, 1200, generator=g)),
    }


def _wait_until_running(job, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = job.status()
        if status.code in (Status.PROGRESS, Status.ITERATING) or (
                status.code == Status.PROCESSING and status.progress_data):
            return
        if job.done():
            raise AssertionError(f"the long job ended before it could be cancelled: {status}")
        time.sleep(0.1)
    raise AssertionError("the long job never started")


def _quick_sr(client: Client, photo: Path):
    return client.submit(handle_file(str(photo)), "sr/lanczos", 2, 0, "model default", "auto", api_name="/sr")


def _run_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "enhancers-run"]


def _cancel_and_check(client: Client, long_job, small: Path, what: str) -> None:
    """Once ``long_job`` runs, queue a quick /sr, cancel the long job, and require the quick one to finish and
    the cancelled worker thread to stop within FREED_WITHIN_S."""
    _wait_until_running(long_job)
    quick = _quick_sr(client, small)

    cancelled_at = time.monotonic()
    long_job.cancel()
    quick.result(timeout=60)
    freed_after = time.monotonic() - cancelled_at
    print(f"queued request done {freed_after:.2f} s after the cancel")

    assert freed_after < FREED_WITHIN_S, f"the queued request finished {freed_after:.1f} s after {what}"
    _assert_worker_stops()


def _assert_worker_stops(timeout: float = FREED_WITHIN_S) -> None:
    deadline = time.monotonic() + timeout
    while _run_threads() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _run_threads(), "a cancelled run's worker thread is still computing"


def test_stop_during_gatys_frees_the_worker(client: Client, photos: dict[str, Path]) -> None:
    # every=50: without the worker thread, the handler would first yield again after 50 steps
    long_job = client.submit(handle_file(str(photos["content"])), handle_file(str(STYLE_IMAGE)), steps=500,
                             size=256, every=50, api_name="/style")
    _cancel_and_check(client, long_job, photos["small"], "Stop")


def test_cancel_during_large_sr_frees_the_worker(client: Client, photos: dict[str, Path]) -> None:
    long_job = client.submit(handle_file(str(photos["large"])), "sr/compact-x2", 2, 64, "off", "fp32",
                             api_name="/sr")
    _cancel_and_check(client, long_job, photos["small"], "the cancel")


def test_cancel_during_large_enhance_frees_the_worker(client: Client, photos: dict[str, Path]) -> None:
    """/enhance is a plain function in ui/enhance.py, made stoppable where it is registered (ui.cancel.stoppable)."""
    long_job = client.submit(handle_file(str(photos["large"])), "enhance/compact-x2", 2, tile=64, api_name="/enhance")
    _cancel_and_check(client, long_job, photos["small"], "the cancel")


def test_disconnect_during_large_sr_frees_the_worker(app_url: str, client: Client, photos: dict[str, Path]) -> None:
    """A raw client that joins the queue, reads the event stream until the tiles run, then closes the connection
    (a closed tab)."""
    api = app_url + "gradio_api/"
    session = "disconnect-test"
    with httpx.Client(timeout=30) as http:
        uploaded = http.post(api + "upload", files={"files": ("large.png", photos["large"].read_bytes())}).json()[0]
        fn_index = next(i for i, d in enumerate(client.config["dependencies"]) if d.get("api_name") == "sr")
        image = {"path": uploaded, "meta": {"_type": "gradio.FileData"}, "orig_name": "large.png"}
        joined = http.post(api + "queue/join", json={"data": [image, "sr/compact-x2", 2, 64, "off", "fp32"],
                                                    "fn_index": fn_index, "session_hash": session})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", api + "queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and json.loads(line[5:]).get("msg") in ("progress", "process_generating"):
                    break
        # the stream is closed here: the server sees the client go

    quick = _quick_sr(client, photos["small"])
    disconnected_at = time.monotonic()
    quick.result(timeout=60)
    freed_after = time.monotonic() - disconnected_at
    print(f"queued request done {freed_after:.2f} s after the disconnect")

    assert freed_after < FREED_WITHIN_S, f"the queued request finished {freed_after:.1f} s after the disconnect"
    _assert_worker_stops()
