"""Quality of the bundled denoiser and JPEG artifact remover on held-out real photos, and their library API."""

from __future__ import annotations

import torch
import pytest

from enhancers import dejpeg, denoise, imageio
from enhancers.degrade import add_gaussian_noise
from enhancers.errors import InvalidInputError
from enhancers.metrics import psnr_b, psnr_rgb
from enhancers.training.data import SKIMAGE_EVAL, prepare_hr, skimage_dir


@pytest.fixture(scope="module")
def clean() -> torch.Tensor:
    """scikit-image's coffee.png (never trained on), ↓2 Lanczos and cropped as the evaluation protocol says."""
    assert "coffee.png" in SKIMAGE_EVAL
    return prepare_hr(skimage_dir() / "coffee.png", crop=256, multiple=8)


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    assert "astronaut.png" in SKIMAGE_EVAL
    return prepare_hr(skimage_dir() / "astronaut.png", crop=256, multiple=8)


# --- Denoising --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [25, 50])
def test_bundled_denoiser_beats_non_local_means(clean: torch.Tensor, sigma: int) -> None:
    c = denoise.compare_on_clean(clean, sigma)
    m = c.metrics
    # On all 11 held-out photos the means are +1.7 dB (σ = 25) and +3.1 dB (σ = 50) over NLM (weights/denoise-unet.md).
    assert m["model"]["psnr"] >= m["baseline"]["psnr"] + (0.5 if sigma == 25 else 2.0), m
    assert m["model"]["psnr"] >= m["noisy"]["psnr"] + (8.0 if sigma == 25 else 10.0), m
    assert m["model"]["ssim"] > m["baseline"]["ssim"], m
    assert c.model.shape == clean.shape


def test_blind_mode_estimates_sigma_and_denoises(astronaut: torch.Tensor) -> None:
    noisy = add_gaussian_noise(astronaut, 25, seed=3)
    est = denoise.estimate_sigma(noisy)
    assert abs(est - 25) <= 5, est
    blind, used = denoise.denoise(noisy, sigma=None)
    told, _ = denoise.denoise(noisy, sigma=25)
    assert used == pytest.approx(est)
    assert psnr_rgb(blind, astronaut) >= psnr_rgb(told, astronaut) - 0.5
    assert psnr_rgb(blind, astronaut) >= psnr_rgb(noisy, astronaut) + 7.0


def test_sigma_is_a_strength_control(clean: torch.Tensor) -> None:
    noisy = add_gaussian_noise(clean, 25, seed=0)
    weak, _ = denoise.denoise(noisy, sigma=5)
    strong, _ = denoise.denoise(noisy, sigma=60)
    # Total variation falls as σ rises: a higher σ smooths more.
    tv = [float((x[..., 1:, :] - x[..., :-1, :]).abs().mean()) for x in (noisy, weak, strong)]
    assert tv[0] > tv[1] > tv[2], tv


def test_clean_photo_is_left_nearly_alone_at_sigma_zero(clean: torch.Tensor) -> None:
    out, _ = denoise.denoise(clean, sigma=0)
    assert psnr_rgb(out, clean) > 33  # measured 34.5 dB: σ = 0 still smooths a little (it was rare in training)


def test_gray_photo_stays_gray(clean: torch.Tensor) -> None:
    gray = clean.mean(dim=1, keepdim=True).mul(255).round().div(255).expand(-1, 3, -1, -1).contiguous()
    out, _ = denoise.denoise(add_gaussian_noise(gray, 20).mean(1, keepdim=True).expand(-1, 3, -1, -1).contiguous(),
                             sigma=20)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


def test_denoise_image_keeps_alpha_and_reports_estimate(clean: torch.Tensor) -> None:
    noisy = add_gaussian_noise(clean, 25)
    alpha = torch.linspace(0, 1, clean.shape[-1]).expand(1, 1, clean.shape[-2], -1).contiguous()
    image = imageio.LoadedImage(noisy, alpha, None, None, "RGBA", "PNG")
    res = denoise.denoise_image(image)
    assert res.image.rgb.dtype == torch.uint8 and res.image.rgb.shape == clean.shape
    assert torch.equal(res.image.alpha, alpha)
    assert res.sigma_estimated is not None and res.sigma == pytest.approx(res.sigma_estimated)


@pytest.mark.parametrize("kwargs,match", [
    ({"sigma": 80}, "σ must be between 0 and 75"),
    ({"model_id": "sr/bicubic"}, "not a denoising model"),
    ({"model_id": "denoise/nope"}, "valid ids"),
])
def test_denoise_rejects_bad_requests(kwargs: dict, match: str) -> None:
    with pytest.raises(Exception, match=match):
        denoise.denoise(torch.rand(1, 3, 32, 32), **kwargs)


# --- JPEG artifact removal --------------------------------------------------------------------------------------


@pytest.mark.parametrize("quality,gain", [(10, 1.0), (30, 0.5)])
def test_bundled_dejpeg_beats_the_jpeg(clean: torch.Tensor, quality: int, gain: float) -> None:
    c = dejpeg.compare_on_clean(clean, quality)
    j, r = c.metrics["jpeg"], c.metrics["model"]
    assert r["psnr"] >= j["psnr"] + gain, c.metrics
    assert r["psnr_b"] >= j["psnr_b"] + gain, c.metrics
    assert r["ssim"] > j["ssim"], c.metrics


@pytest.mark.parametrize("quality", [10, 20, 30, 50, 70, 90])
def test_quality_factor_found_within_10(astronaut: torch.Tensor, quality: int) -> None:
    _, info = dejpeg.dejpeg(imageio.jpeg_compress(astronaut, quality))
    assert info.estimated is not None and abs(info.estimated - quality) <= 5, info
    assert info.used == info.estimated
    if quality <= 30:  # the network's own QF branch is accurate where artifacts are strong
        assert abs(info.predicted - quality) <= 10, info


@pytest.mark.parametrize("quality", [5, 40, 80, 95])
def test_dct_quality_estimate_on_another_photo(quality: int) -> None:
    assert "rocket.jpg" in SKIMAGE_EVAL
    clean = prepare_hr(skimage_dir() / "rocket.jpg", crop=256, multiple=8)
    assert abs(dejpeg.estimate_quality_dct(imageio.jpeg_compress(clean, quality)) - quality) <= 5


def test_dct_quality_estimate_refuses_non_jpeg_pixels(clean: torch.Tensor) -> None:
    assert dejpeg.estimate_quality_dct(clean) is None
    assert dejpeg.estimate_quality_dct(add_gaussian_noise(imageio.jpeg_compress(clean, 20), 8)) is None
    shifted = imageio.jpeg_compress(clean, 20)[..., 3:, 5:].contiguous()  # cropped off the 8×8 grid
    assert dejpeg.estimate_quality_dct(shifted) is None
    _, info = dejpeg.dejpeg(clean)
    assert info.estimated is None and info.used == info.predicted


def test_lower_qf_override_smooths_more(clean: torch.Tensor) -> None:
    jpg = imageio.jpeg_compress(clean, 30)
    soft, info = dejpeg.dejpeg(jpg, quality=5)
    sharp, _ = dejpeg.dejpeg(jpg, quality=95)
    assert info.used == 5
    tv = [float((x[..., :, 1:] - x[..., :, :-1]).abs().mean()) for x in (soft, sharp)]
    assert tv[0] < tv[1], tv


def test_grayscale_jpeg_stays_gray_and_improves(clean: torch.Tensor) -> None:
    gray_clean = imageio.jpeg_compress(clean, 100, grayscale=True)
    jpg = imageio.jpeg_compress(clean, 10, grayscale=True)
    out, _ = dejpeg.dejpeg(jpg)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    assert psnr_b(out, gray_clean) > psnr_b(jpg, gray_clean) + 0.5


def test_dejpeg_image_reports_header_quality(clean: torch.Tensor, tmp_path) -> None:
    path = tmp_path / "photo.jpg"
    imageio.tensor_to_pil(clean).save(path, format="JPEG", quality=15)
    res = dejpeg.dejpeg_image(imageio.open_image(path))
    assert res.quality.header == 15
    assert res.image.rgb.dtype == torch.uint8 and res.image.rgb.shape == clean.shape


@pytest.mark.parametrize("kwargs,match", [
    ({"quality": 0}, "1–100"),
    ({"model_id": "denoise/unet"}, "not a JPEG artifact-removal model"),
])
def test_dejpeg_rejects_bad_requests(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        dejpeg.dejpeg(torch.rand(1, 3, 32, 32), **kwargs)
