"""Shared fixtures: the launched Gradio app, an isolated Hugging Face cache and a held-out low-resolution photo."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# huggingface_hub reads HF_HUB_OFFLINE once, at import: import it now, so a test that sets the
# variable with monkeypatch cannot leave offline mode on for the fake-Hub tests that follow.
import huggingface_hub.constants  # noqa: E402,F401


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium for the browser tests (``tests/browser_support.py``)."""
    from browser_support import launch_chromium

    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="session")
def app_url():
    """URL of ``app.demo`` served on 127.0.0.1 with the same launch options as ``python app.py``."""
    import app

    app.demo.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True,
                    **app.LAUNCH_KWARGS)
    try:
        yield app.demo.local_url.rstrip("/") + "/"
    finally:
        app.demo.close()


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache under ``tmp_path`` (``HF_HOME``), online, without proxies or progress bars;
    tests that download point ``HF_ENDPOINT`` at a ``fake_hub.FakeHub``."""
    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    return home


@dataclass(frozen=True)
class HeldOutPhoto:
    """A held-out photo as an SR benchmark pair: ``lr_path`` is the ×``scale`` bicubic-degraded ``hr``."""

    lr_path: Path
    hr: torch.Tensor
    scale: int


@pytest.fixture(scope="session")
def heldout_lr(tmp_path_factory) -> HeldOutPhoto:
    """scikit-image's coffee.png (never trained on), prepared as HR and degraded ×2 to a PNG upload."""
    from enhancers import imageio
    from enhancers.training.data import SKIMAGE_EVAL, degrade_bicubic, prepare_hr, skimage_dir

    assert "coffee.png" in SKIMAGE_EVAL
    hr = prepare_hr(skimage_dir() / "coffee.png", crop=192)
    lr = degrade_bicubic(hr, 2)
    path = imageio.save_png(tmp_path_factory.mktemp("heldout") / "coffee_lr.png", lr)
    return HeldOutPhoto(lr_path=path, hr=hr, scale=2)
