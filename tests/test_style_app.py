"""Style transfer through the app's API (``/style``, ``/fast_style`` via gradio_client) and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from enhancers import imageio, style
from enhancers.training.data import skimage_dir

ROOT = Path(__file__).resolve().parents[1]
STYLE_IMAGE = ROOT / "examples" / "styles" / "elephants.jpg"


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def photo_path(tmp_path_factory) -> Path:
    """scikit-image's chelsea (held out, never trained on), 160×106, as a PNG upload."""
    im = Image.open(skimage_dir() / "chelsea.png").convert("RGB").resize((160, 106), Image.Resampling.LANCZOS)
    path = tmp_path_factory.mktemp("style") / "chelsea.png"
    im.save(path)
    return path


def _colour_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((style.colour_stats(a) - style.colour_stats(b)).norm())


def _ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(style.luminance(a)[0, 0].numpy(), style.luminance(b)[0, 0].numpy(),
                                       data_range=1.0))


@pytest.mark.app
def test_style_api_takes_content_and_style(client, photo_path) -> None:
    pair, curve, status, final = client.predict(handle_file(str(photo_path)), handle_file(str(STYLE_IMAGE)),
                                                steps=8, size=96, api_name="/style")
    before, after = (Path(p) for p in pair)
    assert Path(final).read_bytes() == after.read_bytes()
    with Image.open(before) as b, Image.open(after) as a:
        assert b.size == a.size == (96, 64)
    assert "Feature network" in status and "gatys/vgg16" in status and "done" in status
    assert "Step 8/8" in status
    assert curve["columns"] == ["step", "loss", "value"]
    assert {row[0] for row in curve["data"]} == set(range(9))  # one point per step, 0–8
    assert {row[1] for row in curve["data"]} == {"content (weighted)", "style (weighted)", "tv (weighted)", "total"}


@pytest.mark.app
def test_style_api_streams_intermediate_images(client, photo_path) -> None:
    job = client.submit(handle_file(str(photo_path)), handle_file(str(STYLE_IMAGE)), steps=6, size=64, every=2,
                        api_name="/style")
    job.result(timeout=600)
    # Between image updates, heartbeats (every 0.5 s, so that Stop ends the run within a step) update the status
    # line only: their other outputs are Gradio's "no change" updates.
    outputs = [o for o in job.outputs() if isinstance(o[0], (list, tuple))]
    assert len(outputs) == 4, [o[2] for o in outputs]  # steps 0, 2, 4, 6
    assert [o[3] is None for o in outputs] == [True, True, True, False]
    afters = [Path(o[0][1]).read_bytes() for o in outputs]
    assert len(set(afters)) == 4


@pytest.mark.app
def test_style_api_errors_are_clear(client, photo_path) -> None:
    with pytest.raises(AppError, match="Upload a style image"):
        client.predict(handle_file(str(photo_path)), None, api_name="/style")
    with pytest.raises(AppError, match="less than minimum value 64"):
        client.predict(handle_file(str(photo_path)), handle_file(str(STYLE_IMAGE)), size=32, api_name="/style")
    with pytest.raises(AppError, match="choose at least one style or content layer"):
        client.predict(handle_file(str(photo_path)), handle_file(str(STYLE_IMAGE)), style_layers=[],
                       content_layers=[], api_name="/style")


@pytest.mark.app
def test_fast_style_api_restyles_a_held_out_photo(client, photo_path) -> None:
    pair, full, stats = client.predict(handle_file(str(photo_path)), api_name="/fast_style")
    out = imageio.open_image(full).rgb
    photo = imageio.open_image(photo_path).rgb
    assert out.shape == photo.shape
    assert style.DEFAULT_FAST in stats and "160×106" in stats
    style_rgb = imageio.open_image(STYLE_IMAGE.with_name(f"{style.DEFAULT_FAST.split('/')[1]}.jpg")).rgb
    assert _colour_distance(out, style_rgb) < 0.95 * _colour_distance(photo, style_rgb)
    assert _ssim(out, photo) > 0.3
    half = imageio.open_image(client.predict(handle_file(str(photo_path)), strength=0.0,
                                             api_name="/fast_style")[1]).rgb
    assert torch.allclose(half, photo, atol=1 / 255 + 1e-6)


@pytest.mark.app
def test_fast_style_hub_model_offline_gives_clear_error(client, photo_path, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AppError, match=r"style/maze-scream.*could not be downloaded.*offline"):
        client.predict(handle_file(str(photo_path)), model_id="style/maze-scream", api_name="/fast_style")


# --- CLI ---------------------------------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "enhancers", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_cli_gatys_writes_content_stem_png(photo_path, tmp_path) -> None:
    res = _cli("style", str(photo_path), "--style", str(STYLE_IMAGE), "--output-dir", str(tmp_path / "o"),
               "--steps", "3", "--size", "64", "--json")
    assert res.returncode == 0, res.stderr
    with Image.open(tmp_path / "o" / "chelsea.png") as im:
        assert im.size == (64, 42)
    assert json.loads(res.stdout.splitlines()[-1])["model"] == style.DEFAULT_FEATURES == "gatys/vgg16"


def test_cli_fast_style_keeps_size(photo_path, tmp_path) -> None:
    res = _cli("style", str(photo_path), "--model", style.DEFAULT_FAST, "--output-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    with Image.open(tmp_path / "chelsea.png") as im:
        assert im.size == (160, 106)


@pytest.mark.parametrize(("args", "code", "needle"), [
    ((), 2, "either --style STYLE_IMAGE"),
    (("--model", "style/nope"), 1, "valid ids"),
    (("--style", "missing-style.png"), 1, "missing-style.png"),
    (("--style", str(STYLE_IMAGE), "--steps", "0"), 1, "steps must be 1–2000, got 0"),
])
def test_cli_style_errors_are_one_line(photo_path, tmp_path, args, code, needle) -> None:
    res = _cli("style", str(photo_path), "--output-dir", str(tmp_path / "o"), *args)
    assert res.returncode == code
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o" / "chelsea.png").exists()
