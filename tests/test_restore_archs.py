"""Random-weight checks of the restoration architectures, and the pure helpers they rely on:
the noise protocol, the JPEG protocol and header quality, PSNR-B, and block-aligned tiling."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from enhancers import imageio, metrics
from enhancers.archs import get_builder
from enhancers.archs.restore_unet import DenoiseUNet, JPEGUNet
from enhancers.degrade import add_gaussian_noise
from enhancers.errors import InvalidInputError
from enhancers.tiling import fit_tile, run_tiled, tile_starts
from enhancers.training.checkpoints import save_weights


@pytest.mark.parametrize("arch,net,kwargs", [
    ("denoise-unet", DenoiseUNet(channels=(8, 12, 16)), {"sigma": 25.0}),
    ("dejpeg-unet", JPEGUNet(channels=(8, 12, 16), embed=8), {"qf": 30.0}),
])
@pytest.mark.parametrize("size", [(64, 64), (37, 53)])
def test_random_weight_round_trip(arch: str, net: torch.nn.Module, kwargs: dict, size: tuple[int, int],
                                  tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "w.safetensors"
    save_weights(net, path)
    built = get_builder(arch)(load_file(path))
    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        want, got = net.eval()(x, **kwargs), built.module(x, **kwargs)
    if isinstance(got, tuple):
        (want, want_q), (got, q) = want, got
        assert q.shape == (1,) and 0 <= float(q) <= 100
        assert torch.equal(q, want_q)
    assert got.shape == x.shape and got.dtype == torch.float32
    assert torch.isfinite(got).all()
    assert torch.equal(got, want)


def test_denoiser_noise_level_changes_output() -> None:
    torch.manual_seed(0)
    net = DenoiseUNet(channels=(8, 12, 16)).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        a, b = net(x, 5.0), net(x, torch.tensor([5.0, 50.0]))
    assert torch.allclose(a[0], b[0]) and not torch.allclose(a[1], b[1])


def test_jpeg_net_override_changes_output_but_not_prediction() -> None:
    torch.manual_seed(0)
    net = JPEGUNet(channels=(8, 12, 16), embed=8).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        (a, qa), (b, qb) = net(x, 10.0), net(x, 90.0)
        _, q_auto = net(x)
    assert torch.equal(qa, qb) and torch.equal(qa, q_auto)
    assert not torch.allclose(a, b)


# --- Noise protocol ---------------------------------------------------------------------------------------------


def test_gaussian_noise_protocol() -> None:
    clean = torch.full((1, 3, 128, 128), 128 / 255)
    noisy = add_gaussian_noise(clean, 25, seed=1)
    assert torch.equal(noisy, add_gaussian_noise(clean, 25, seed=1))
    assert not torch.equal(noisy, add_gaussian_noise(clean, 25, seed=2))
    assert torch.equal(noisy * 255, (noisy * 255).round())  # on the 8-bit grid
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert abs(float((noisy - clean).std() * 255) - 25) < 0.6
    assert torch.equal(add_gaussian_noise(clean, 0), clean)


def test_gaussian_noise_clips_like_a_saved_photo() -> None:
    white = torch.ones(1, 3, 64, 64)
    noisy = add_gaussian_noise(white, 50)
    assert noisy.max() == 1 and (noisy == 1).float().mean() > 0.45  # half the noise is clipped away


@pytest.mark.parametrize("sigma", [-1, 256])
def test_gaussian_noise_rejects_bad_sigma(sigma: float) -> None:
    with pytest.raises(InvalidInputError, match="σ"):
        add_gaussian_noise(torch.rand(1, 3, 8, 8), sigma)


# --- JPEG protocol and header quality --------------------------------------------------------------------------


def test_jpeg_compress_matches_pillow() -> None:
    rgb = torch.rand(1, 3, 40, 48)
    buf = io.BytesIO()
    Image.fromarray(imageio.to_uint8_hwc(rgb)).save(buf, format="JPEG", quality=20)
    want = imageio.pil_to_tensor(Image.open(io.BytesIO(buf.getvalue())))
    assert torch.equal(imageio.jpeg_compress(rgb, 20), want)
    gray = imageio.jpeg_compress(rgb, 20, grayscale=True)
    assert torch.equal(gray[:, 0], gray[:, 1]) and torch.equal(gray[:, 1], gray[:, 2])


@pytest.mark.parametrize("quality", [0, 101])
def test_jpeg_compress_rejects_bad_quality(quality: int) -> None:
    with pytest.raises(InvalidInputError, match="1–100"):
        imageio.jpeg_compress(torch.rand(1, 3, 8, 8), quality)


@pytest.mark.parametrize("quality", [5, 10, 37, 50, 75, 95])
def test_header_quality_of_pillow_jpeg(quality: int) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(buf, format="JPEG", quality=quality)
    assert imageio.open_image(buf.getvalue()).jpeg_quality == quality


def test_header_quality_absent_for_png() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    assert imageio.open_image(buf.getvalue()).jpeg_quality is None


# --- PSNR-B (Yim & Bovik 2011) ----------------------------------------------------------------------------------


def test_bef_zero_for_smooth_and_positive_for_blocks() -> None:
    ramp = np.tile(np.arange(64, dtype=np.float64), (64, 1))
    assert metrics.blocking_effect_factor(ramp) == 0.0  # equal differences everywhere
    blocks = np.kron(np.arange(64, dtype=np.float64).reshape(8, 8) * 3, np.ones((8, 8)))
    # Hand computation: differences are 3 across every vertical block boundary, 24 across every horizontal
    # one, 0 elsewhere; D_B = (7·64·9 + 7·64·576) / (2·7·64), D_B^c = 0, η = log2(8) / log2(64) = 1/2.
    assert metrics.blocking_effect_factor(blocks) == pytest.approx(0.5 * (9 + 576) / 2)


def test_psnr_b_penalises_blocking_only() -> None:
    torch.manual_seed(0)
    ref = torch.linspace(0.2, 0.8, 64).repeat(1, 3, 64, 1)  # a smooth photo-like gradient
    smooth_err = (ref + 0.02 * torch.randn_like(ref)).clamp(0, 1)
    offsets = torch.kron(torch.randn(1, 3, 8, 8) * 0.02, torch.ones(8, 8))
    blocky = (ref + offsets).clamp(0, 1)
    assert metrics.psnr_b(smooth_err, ref) == pytest.approx(metrics.psnr_rgb(smooth_err, ref), abs=0.3)
    assert metrics.psnr_b(blocky, ref) < metrics.psnr_rgb(blocky, ref) - 0.5
    assert metrics.psnr_b(ref, ref) == float("inf")


# --- Block-aligned tiling ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("length,tile,overlap", [(1000, 256, 32), (1024, 200, 40), (808, 96, 16)])
def test_aligned_tile_starts_cover_with_overlap(length: int, tile: int, overlap: int) -> None:
    t = fit_tile(length, tile - tile % 8, overlap, align=8)
    starts = tile_starts(length, t, overlap, align=8)
    assert t % 8 == 0 and all(s % 8 == 0 for s in starts)
    assert starts[0] == 0 and starts[-1] + t == length
    assert all(a + t - b >= overlap for a, b in zip(starts, starts[1:]))


def test_aligned_tiling_keeps_block_phase_and_matches_untiled() -> None:
    torch.manual_seed(0)
    net = JPEGUNet(channels=(8, 12, 16), embed=8).eval()
    x = torch.rand(1, 3, 203, 317)  # not a multiple of 8: padded at the bottom/right only

    def fn(t: torch.Tensor) -> torch.Tensor:
        return net(t, 30.0)[0]

    with torch.no_grad():
        whole = fn(x)
        tiled = run_tiled(fn, x, 1, 96, 48, multiple=8, align=8)
    # A U-Net's receptive field exceeds the overlap, so tiles differ slightly; seams would show as large errors.
    assert tiled.shape == whole.shape
    assert float((tiled - whole).abs().mean()) < 0.01
