"""A failing Hub: each fault gives a clear typed error, leaves nothing half-written in the Hugging Face cache, and the
next try succeeds once the fault is gone. The Hub is the local fake (tests/fake_hub.py); nothing uses the network."""

from __future__ import annotations

import hashlib
import importlib
import re
import time
import types
from pathlib import Path

import huggingface_hub.constants  # noqa: F401  imported first, as the app does: its constants freeze here
import huggingface_hub.file_download as hf_download
import huggingface_hub.utils._http as hf_http
import pytest
import torch

from enhancers import loader
from enhancers.errors import ModelUnavailableError, UnsafeWeightsError
from enhancers.specs import HubWeights, ModelSpec
from fake_hub import COMMIT, REPO, FakeHub

FILENAME = "tiny.pth"
TIMEOUT_S = 0.5


def _tiny_state_dict() -> dict[str, torch.Tensor]:
    arch = importlib.import_module("spandrel.architectures.Compact.__arch.SRVGG")
    torch.manual_seed(0)
    net = arch.SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2, act_type="prelu")
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


SPEC = ModelSpec(id="sr/test-faulty-hub", title="Tiny test SR", task="sr", arch="spandrel",
                 source=HubWeights(repo_id=REPO, filename=FILENAME, revision=COMMIT, size_mb=0.1),
                 license="MIT", paper="https://example.invalid/tiny", scale=2)


MODES = ("direct", "lfs-redirect")


@pytest.fixture
def hub(request: pytest.FixtureRequest, tmp_path: Path, hf_home: Path, monkeypatch: pytest.MonkeyPatch):
    """The fake Hub serving a tiny SR model, ``direct`` or through an ``lfs-redirect`` to a CDN origin
    (``indirect`` parameter)."""
    served = tmp_path / "served"
    served.mkdir()
    torch.save(_tiny_state_dict(), served / FILENAME)
    fake = FakeHub(served, lfs_redirect=request.param == "lfs-redirect")
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("ENHANCERS_HUB_TIMEOUT", str(TIMEOUT_S))
    # huggingface_hub waits 1 s before each of its 5 resumes of a broken transfer, and backs off on 5xx.
    monkeypatch.setattr(hf_download, "time", types.SimpleNamespace(sleep=lambda s: None))
    monkeypatch.setattr(hf_http, "time", types.SimpleNamespace(sleep=lambda s: None, time=time.time,
                                                                monotonic=time.monotonic))
    yield fake
    fake.close()


def _leftovers(hf_home: Path) -> list[str]:
    """Files in the Hub cache other than lock files: blobs, snapshot links, ``*.incomplete`` downloads."""
    if not hf_home.exists():
        return []
    return sorted(str(p.relative_to(hf_home)) for p in hf_home.rglob("*")
                  if (p.is_file() or p.is_symlink()) and ".locks" not in p.parts and p.name != "CACHEDIR.TAG"
                  and p.parent.name != "refs")


EXPECTED = {
    "http500": r"500",
    "stall": r"stopped answering for 0\.5 s \(timeout",
    "truncate": r"cut short",
    "bad_sha": r"sha256 [0-9a-f]{12}… does not match the Hub's [0-9a-f]{12}…",
}


# One stalled transfer is enough: the stall is in the file body in both modes.
@pytest.mark.parametrize("hub, fault", [(m, f) for m in MODES for f in EXPECTED if (m, f) != ("lfs-redirect", "stall")],
                         indirect=["hub"])
def test_fault_gives_clear_error_clean_cache_and_next_try_works(hub: FakeHub, hf_home: Path, fault: str) -> None:
    hub.fault = fault
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        loader.weights_path(SPEC)
    elapsed = time.monotonic() - start

    message = str(info.value)
    assert SPEC.id in message and re.search(EXPECTED[fault], message), message
    assert elapsed < 12  # a stall: the 0.5 s timeout on each of 6 tries, not 10 s each
    assert _leftovers(hf_home) == []
    assert loader.is_ready(SPEC) is False

    hub.fault = None
    model = loader.build_model(SPEC, device=torch.device("cpu"))

    path = loader.weights_path(SPEC)
    assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256((hub.root / FILENAME).read_bytes()).digest()
    assert model.module(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)


class _Payload:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize("hub", MODES, indirect=True)
def test_pickled_code_is_refused_deleted_and_replaced_on_next_try(hub: FakeHub, hf_home: Path,
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    good = (hub.root / FILENAME).read_bytes()
    torch.save({"body.0.weight": torch.ones(1), "x": _Payload()}, hub.root / FILENAME)

    with pytest.raises(UnsafeWeightsError, match="pickled code.*deleted from the Hugging Face cache"):
        loader.build_model(SPEC, device=torch.device("cpu"))

    assert "pwned" not in capfd.readouterr().out
    assert _leftovers(hf_home) == []
    (hub.root / FILENAME).write_bytes(good)
    assert loader.build_model(SPEC, device=torch.device("cpu")).spec is SPEC


def test_hub_timeout_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCERS_HUB_TIMEOUT", "2.5")
    assert loader.hub_timeout() == 2.5
    monkeypatch.setenv("ENHANCERS_HUB_TIMEOUT", "soon")
    assert loader.hub_timeout() == loader.DEFAULT_HUB_TIMEOUT_S


@pytest.mark.app
def test_app_keeps_serving_while_a_download_stalls(app_url: str, tmp_path: Path, hf_home: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A /sr call for a Hub model whose download stalls: the app answers other requests meanwhile (the model card
    at once, and a bundled-model /sr call while the download still hangs: the download holds a queue slot but no
    compute slot), and the stalled call ends with a clear error."""
    from gradio_client import Client, handle_file

    from enhancers import imageio
    from enhancers.registry import get_spec

    src = get_spec("sr/swinir-m-x4").source  # a Hub model without an offline copy
    served = tmp_path / "served"
    served.mkdir()
    (served / src.filename).parent.mkdir(parents=True, exist_ok=True)
    (served / src.filename).write_bytes(b"\0" * 100_000)
    fake = FakeHub(served, lfs_redirect=True, repo=src.repo_id, commit=src.revision)
    fake.fault = "stall"
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("ENHANCERS_HUB_TIMEOUT", "1")
    monkeypatch.setattr(hf_download, "time", types.SimpleNamespace(sleep=lambda s: None))
    photo = imageio.save_png(tmp_path / "photo.png", torch.rand(1, 3, 24, 32))
    client = Client(app_url, verbose=False)
    try:
        stalled = client.submit(handle_file(str(photo)), "sr/swinir-m-x4", 4, 0, "off", "auto", api_name="/sr")
        assert fake.stalled.wait(30), "the download never started"

        start = time.monotonic()
        card = client.predict("sr/compact-x2", api_name="/sr_model_card")
        assert "Compact" in card and time.monotonic() - start < 2
        quick = client.submit(handle_file(str(photo)), "sr/lanczos", 2, 0, "model default", "auto", api_name="/sr")
        quick.result(timeout=30)
        assert not stalled.done(), "the bundled /sr call waited for the stalled download"

        with pytest.raises(Exception, match=r"stopped answering for 1 s \(timeout") as info:
            stalled.result(timeout=30)
        assert "AppError" in type(info.value).__name__
        assert _leftovers(hf_home) == []
    finally:
        fake.close()
