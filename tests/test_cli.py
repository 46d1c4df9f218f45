"""``python -m enhancers``: model listing, batch SR, and clean failures on bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "enhancers", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_models_json_lists_every_spec_with_readiness():
    res = _cli("models", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["id"]: r for r in json.loads(res.stdout)}
    assert {"sr/bicubic", "sr/compact-x2", "sr/compact-x4", "sr/srcnn-x2", "sr/realesrgan-x4plus"} <= set(rows)
    for r in rows.values():
        assert set(r) >= {"id", "task", "source", "scale", "ready"}
        assert r["source"] in ("bundled", "hub", "wheel", "algorithm")
    assert rows["sr/compact-x2"]["ready"] is True and rows["sr/compact-x2"]["source"] == "bundled"
    assert rows["sr/swinir-m-x4"]["source"] == "hub" and rows["sr/swinir-m-x4"]["scale"] == 4
    assert rows["sr/swinir-m-x4"]["offline"] is False
    assert rows["sr/realesrgan-x4plus"]["source"] == "hub" and rows["sr/realesrgan-x4plus"]["offline"] is True
    assert rows["sr/realesrgan-x4plus-anime"]["source"] == "wheel" and rows["sr/realesrgan-x4plus-anime"]["ready"]


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    im = Image.open(ROOT / "examples" / "coffee.png").convert("RGBA").crop((0, 0, 64, 48))
    im.putalpha(Image.linear_gradient("L").resize((64, 48)))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    im.save(src / "good.png", exif=exif.tobytes())
    (src / "empty.png").write_bytes(b"")
    (src / "notes.png").write_text("this is not an image")
    jpeg = src / "cut.jpg"
    Image.open(ROOT / "examples" / "coffee.png").convert("RGB").save(jpeg, quality=90)
    jpeg.write_bytes(jpeg.read_bytes()[:2000])
    return src


def test_sr_folder_writes_good_files_and_reports_each_bad_one(inputs, tmp_path):
    out = tmp_path / "out"
    res = _cli("sr", str(inputs), "--output-dir", str(out))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, res.stderr
    for name in ("empty.png", "notes.png", "cut.jpg"):
        assert any(name in e for e in errors)
    assert sorted(p.name for p in out.iterdir()) == ["good.png"]
    result = Image.open(out / "good.png")
    assert result.size == (128, 96) and result.mode == "RGBA"
    assert result.getexif()[0x010F] == "TestCam"
    alpha = result.getchannel("A")
    assert alpha.getpixel((64, 2)) < 40 and alpha.getpixel((64, 93)) > 215


def test_sr_scale_4_with_explicit_model(inputs, tmp_path):
    res = _cli("sr", str(inputs / "good.png"), "--output-dir", str(tmp_path), "--model", "sr/compact-x4",
               "--scale", "4")
    assert res.returncode == 0, res.stderr
    assert Image.open(tmp_path / "good.png").size == (256, 192)
    single = _cli("sr", str(inputs / "good.png"), "--output-dir", str(tmp_path / "single"), "--model",
                  "sr/compact-x4", "--scale", "4", "--no-self-ensemble")
    assert single.returncode == 0, single.stderr
    a, b = (np.asarray(Image.open(d / "good.png")) for d in (tmp_path, tmp_path / "single"))
    assert a.shape == b.shape and not np.array_equal(a, b)


@pytest.mark.parametrize(("args", "needle"), [
    (("--model", "sr/nope"), "valid ids"),
    (("--model", "sr/compact-x2", "--scale", "4"), "×4 was asked for"),
])
def test_sr_usage_errors_are_one_line(inputs, tmp_path, args, needle):
    res = _cli("sr", str(inputs / "good.png"), "--output-dir", str(tmp_path / "o"), *args)
    assert res.returncode == 1
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o" / "good.png").exists()


def test_sr_missing_input_exits_nonzero(tmp_path):
    res = _cli("sr", str(tmp_path / "nothing-here.png"), "--output-dir", str(tmp_path))
    assert res.returncode == 1
    assert "nothing-here.png" in res.stderr and "Traceback" not in res.stderr


@pytest.fixture
def noisy_and_jpeg(tmp_path: Path) -> Path:
    """A held-out photo (coffee) with Gaussian noise σ = 25 as PNG, and saved as a q = 10 JPEG."""
    import torch

    from enhancers import imageio
    from enhancers.degrade import add_gaussian_noise
    from enhancers.training.data import prepare_hr, skimage_dir

    src = tmp_path / "restore-in"
    src.mkdir()
    clean = prepare_hr(skimage_dir() / "coffee.png", crop=128, multiple=8)
    imageio.save_png(src / "noisy.png", add_gaussian_noise(clean, 25))
    imageio.tensor_to_pil(clean).save(src / "blocky.jpg", format="JPEG", quality=10)
    torch.save(clean, src / "clean.pt")
    return src


def test_denoise_blind_and_with_sigma(noisy_and_jpeg: Path, tmp_path: Path) -> None:
    res = _cli("denoise", str(noisy_and_jpeg / "noisy.png"), "--output-dir", str(tmp_path / "blind"))
    assert res.returncode == 0, res.stderr
    assert "(estimated)" in res.stdout
    res = _cli("denoise", str(noisy_and_jpeg / "noisy.png"), "--output-dir", str(tmp_path / "set"), "--sigma", "25")
    assert res.returncode == 0 and "σ = 25.0 (given)" in res.stdout, res.stdout + res.stderr
    import torch

    from enhancers import imageio
    from enhancers.metrics import psnr_rgb

    clean = torch.load(noisy_and_jpeg / "clean.pt")
    noisy = imageio.open_image(noisy_and_jpeg / "noisy.png").rgb
    for sub in ("blind", "set"):
        out = imageio.open_image(tmp_path / sub / "noisy.png").rgb
        assert psnr_rgb(out, clean) > psnr_rgb(noisy, clean) + 5


def test_dejpeg_reports_predicted_and_header_quality(noisy_and_jpeg: Path, tmp_path: Path) -> None:
    res = _cli("dejpeg", str(noisy_and_jpeg / "blocky.jpg"), "--output-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "QF predicted" in res.stdout and "DCT grid says 10" in res.stdout and "file header says 10" in res.stdout
    assert (tmp_path / "blocky.png").is_file()


@pytest.mark.parametrize(("command", "args", "needle"), [
    ("denoise", ("--sigma", "200"), "σ must be between 0 and 75"),
    ("dejpeg", ("--quality", "0"), "quality factor must be 1–100"),
    ("denoise", ("--model", "dejpeg/fbcnn-lite"), "not a denoising model"),
])
def test_restore_usage_errors_are_one_line(noisy_and_jpeg: Path, tmp_path: Path, command: str, args: tuple,
                                           needle: str) -> None:
    res = _cli(command, str(noisy_and_jpeg / "noisy.png"), "--output-dir", str(tmp_path / "o"), *args)
    assert res.returncode == 1
    assert needle in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o" / "noisy.png").exists()
