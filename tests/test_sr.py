"""Super-resolution: architectures with random weights, bundled models on held-out photos, the task API."""

from __future__ import annotations

import importlib

import pytest
import torch
from safetensors.torch import save_file

from enhancers import imageio, sr
from enhancers.archs import get_builder
from enhancers.errors import InvalidInputError, UnknownModelError
from enhancers.loader import LoadedModel, build_model
from enhancers.metrics import psnr_y, ssim_y
from enhancers.registry import get_spec, list_specs
from enhancers.specs import BundledWeights, ModelSpec, Tiling
from enhancers.training import data


def _compact(scale: int) -> torch.nn.Module:
    srvgg = importlib.import_module("spandrel.architectures.Compact.__arch.SRVGG")
    return srvgg.SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=3, upscale=scale, act_type="prelu")


def _srcnn(scale: int) -> torch.nn.Module:
    from enhancers.archs.srcnn import SRCNN

    return SRCNN(scale=scale)


@pytest.mark.parametrize(("arch", "make", "scale"), [("spandrel", _compact, 2), ("spandrel", _compact, 4),
                                                     ("srcnn", _srcnn, 2), ("srcnn", _srcnn, 3)])
def test_random_weight_arch_roundtrip(tmp_path, monkeypatch, arch, make, scale):
    torch.manual_seed(0)
    net = make(scale).eval()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "tiny.safetensors"))
    monkeypatch.setattr("enhancers.specs.WEIGHTS_DIR", tmp_path)
    spec = ModelSpec(id="sr/tiny", title="tiny", task="sr", arch=arch, source=BundledWeights("tiny.safetensors"),
                     license="MIT", paper="https://example.org", scale=scale)
    loaded = build_model(spec, torch.device("cpu"))
    x = torch.rand(1, 3, 13, 17)
    with torch.no_grad():
        y = loaded.module(x)
        ref = net(x)
    assert y.shape == (1, 3, 13 * scale, 17 * scale)
    assert torch.isfinite(y).all()
    assert torch.allclose(y, ref, atol=1e-6)
    if arch == "srcnn":
        assert y.min() >= 0 and y.max() <= 1


def test_resize_baseline_matches_pillow_any_scale():
    x = imageio.pil_to_tensor(imageio.tensor_to_pil(torch.rand(1, 3, 10, 14)))
    built = get_builder("resize")(None, method="bicubic")
    for s in (2, 3, 4):
        y = built.module(x, scale=s)
        assert y.shape == (1, 3, 10 * s, 14 * s)
        assert torch.allclose(y, imageio.resize(x, (14 * s, 10 * s), "bicubic"))


def _heldout_pair(name: str, scale: int, crop: int = 192):
    hr = data.prepare_hr(data.skimage_dir() / name, crop=crop, multiple=4)
    return hr, data.degrade_bicubic(hr, scale)


BUNDLED_MARGIN_DB = {"sr/compact-x2": 1.0, "sr/compact-x4": 0.5, "sr/srcnn-x2": 0.3}


@pytest.mark.parametrize("model_id", [s.id for s in list_specs("sr") if s.source_kind == "bundled"])
def test_bundled_model_beats_bicubic_on_heldout_photos(model_id):
    assert model_id in BUNDLED_MARGIN_DB, f"add a quality margin for {model_id}"
    scale = get_spec(model_id).scale
    gains = []
    for name in ("astronaut.png", "coffee.png"):
        hr, lr = _heldout_pair(name, scale)
        bic = imageio.resize(lr, (hr.shape[-1], hr.shape[-2]), "bicubic")
        out = sr.upscale(lr, model_id)
        assert out.shape == hr.shape and out.dtype == torch.float32
        gains.append(psnr_y(out, hr, scale) - psnr_y(bic, hr, scale))
        assert ssim_y(out, hr, scale) > ssim_y(bic, hr, scale)
    assert sum(gains) / len(gains) > BUNDLED_MARGIN_DB[model_id], gains


def test_upscale_uint8_matches_float_and_tiles_are_seamless():
    hr, lr = _heldout_pair("chelsea.png", 2, crop=256)
    whole = sr.upscale(lr, "sr/compact-x2", tile=4096)
    tiled = sr.upscale(lr, "sr/compact-x2", tile=48)
    assert (whole - tiled).abs().max() <= 1 / 255
    as_u8 = sr.upscale(lr, "sr/compact-x2", tile=48, out_dtype=torch.uint8)
    assert as_u8.dtype == torch.uint8
    assert (as_u8.float() / 255 - tiled).abs().max() <= 0.5 / 255 + 1e-6


def test_self_ensemble_is_the_x4_default_and_beats_one_pass():
    assert get_spec("sr/compact-x4").self_ensemble and not get_spec("sr/compact-x2").self_ensemble
    gains = {True: [], False: []}
    for name in ("astronaut.png", "coffee.png"):
        hr, lr = _heldout_pair(name, 4)
        bic = psnr_y(imageio.resize(lr, (hr.shape[-1], hr.shape[-2]), "bicubic"), hr, 4)
        default = sr.upscale(lr, "sr/compact-x4")
        for on in (True, False):
            out = sr.upscale(lr, "sr/compact-x4", self_ensemble=on)
            gains[on].append(psnr_y(out, hr, 4) - bic)
        assert torch.equal(default, sr.upscale(lr, "sr/compact-x4", self_ensemble=True))
    assert all(e > s for e, s in zip(gains[True], gains[False])), gains
    # Per tile, so the tiled result still matches the untiled one.
    whole = sr.upscale(lr, "sr/compact-x4", tile=4096)
    tiled = sr.upscale(lr, "sr/compact-x4", tile=32)
    assert (whole - tiled).abs().max() <= 1 / 255


def test_upscale_validates_inputs():
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(UnknownModelError, match="sr/compact-x2"):
        sr.upscale(x, "sr/nope")
    with pytest.raises(InvalidInputError, match="expected 3 channels, got 4"):
        sr.upscale(torch.rand(1, 4, 16, 16), "sr/bicubic")
    with pytest.raises(InvalidInputError, match="×4"):
        sr.upscale(x, "sr/compact-x2", scale=4)
    with pytest.raises(InvalidInputError, match="at least 8 px"):
        sr.upscale(torch.rand(1, 3, 4, 4), "sr/realesrgan-x4plus")


def test_larger_native_scale_is_reduced_with_lanczos():
    hr, lr = _heldout_pair("coffee.png", 4, crop=128)
    out = sr.upscale(lr, "sr/compact-x4", scale=2)
    assert out.shape[-2:] == (lr.shape[-2] * 2, lr.shape[-1] * 2)


def test_upscale_image_keeps_alpha_geometry_and_metadata():
    rgb = torch.rand(1, 3, 12, 20)
    alpha = torch.zeros(1, 1, 12, 20)
    alpha[..., :, 10:] = 1.0
    img = imageio.LoadedImage(rgb=rgb, alpha=alpha, icc_profile=None, exif=b"Exif\x00\x00fake", source_mode="RGBA",
                              source_format="PNG")
    res = sr.upscale_image(img, "sr/lanczos", scale=3)
    assert res.scale == 3
    assert res.image.rgb.shape == (1, 3, 36, 60) and res.image.rgb.dtype == torch.uint8
    assert res.image.alpha.shape == (1, 1, 36, 60)
    assert res.image.alpha[..., :, :28].max() < 0.05 and res.image.alpha[..., :, 32:].min() > 0.95
    assert res.before.shape == (1, 3, 36, 60)
    assert res.image.exif == img.exif


def test_models_for_scale():
    assert "sr/compact-x4" in sr.models_for_scale(2)
    assert "sr/compact-x2" not in sr.models_for_scale(4)
    assert {"sr/bicubic", "sr/lanczos"} <= set(sr.models_for_scale(4))
    assert sr.default_model(4) == "sr/compact-x4"


def test_run_model_retries_smaller_tiles_on_oom():
    from enhancers.runner import run_model

    base = get_builder("resize")(None, method="bicubic").module
    seen = []

    class Picky(torch.nn.Module):
        def forward(self, x, scale):
            seen.append(x.shape[-1])
            if x.shape[-1] > 64:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return base(x, scale=scale)

    spec = ModelSpec(id="sr/picky", title="picky", task="sr", arch="resize", source=None, license="-",
                     paper="-", scale=2, tiling=Tiling(overlap=8), any_scale=True)
    loaded = LoadedModel(spec, Picky(), torch.device("cpu"), torch.float32, 0)
    x = torch.rand(1, 3, 100, 150)
    out = run_model(loaded, x, tile=256)
    assert out.shape == (1, 3, 200, 300)
    assert max(seen) > 64 and seen[-1] <= 64
