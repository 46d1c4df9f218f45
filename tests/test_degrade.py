"""enhancers.degrade: blur kernels, noise, JPEG, Real-ESRGAN's second-order model, the fixed
evaluation mix and the photometric model, checked on scikit-image's held-out photos."""

from __future__ import annotations

import math

import kornia
import numpy as np
import pytest
import torch
from skimage.restoration import estimate_sigma

from enhancers import degrade, imageio
from enhancers.errors import InvalidInputError
from enhancers.metrics import blocking_effect_factor
from enhancers.training.data import skimage_dir


def _centre_crop(name: str, size: int = 256) -> torch.Tensor:
    rgb = imageio.open_image(skimage_dir() / name).rgb
    h, w = rgb.shape[-2:]
    top, left = (h - size) // 2, (w - size) // 2
    return rgb[..., top:top + size, left:left + size].contiguous()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """As in a data-loader worker; also keeps the file fast on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    return _centre_crop("astronaut.png")


@pytest.fixture(scope="module")
def coffee() -> torch.Tensor:
    return _centre_crop("coffee.png")


def _sigma255(rgb: torch.Tensor) -> float:
    """Wavelet noise estimate (Donoho), averaged over channels, on the 0–255 scale."""
    return 255 * float(estimate_sigma(imageio.to_uint8_hwc(rgb) / 255.0, channel_axis=-1, average_sigmas=True))


def _added_sigma(noisy: torch.Tensor, clean: torch.Tensor) -> float:
    return math.sqrt(max(_sigma255(noisy) ** 2 - _sigma255(clean) ** 2, 0.0))


def _principal_angle(k: torch.Tensor) -> float:
    """Angle (radians, x = column axis toward y = row axis) of the kernel's major axis."""
    n = k.shape[0]
    ax = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    w = k.double()
    cov = torch.tensor([[(w * xx * xx).sum(), (w * xx * yy).sum()], [(w * xx * yy).sum(), (w * yy * yy).sum()]])
    _, vecs = torch.linalg.eigh(cov)
    major = vecs[:, 1]
    return math.atan2(float(major[1]), float(major[0]))


def _angle_diff(a: float, b: float) -> float:
    """Difference of two axis directions (mod π)."""
    d = (a - b) % math.pi
    return min(d, math.pi - d)


def _high_frequency_energy(rgb: torch.Tensor) -> float:
    y = rgb.mean(1)[0].double()
    spec = torch.fft.fftshift(torch.fft.fft2(y - y.mean())).abs() ** 2
    n = y.shape[0]
    f = torch.fft.fftshift(torch.fft.fftfreq(n))
    fy, fx = torch.meshgrid(f, f, indexing="ij")
    return float(spec[torch.hypot(fx, fy) > 0.25].sum() / spec.sum())


# ----------------------------------------------------------------------------- kernels

KERNELS = {
    "iso": lambda: degrade.isotropic_gaussian_kernel(15, 2.0),
    "aniso": lambda: degrade.anisotropic_gaussian_kernel(21, 4.0, 1.0, math.pi / 6),
    "generalized": lambda: degrade.generalized_gaussian_kernel(17, 3.0, 1.0, -math.pi / 4, 0.7),
    "plateau": lambda: degrade.plateau_kernel(13, 3.0, 1.2, 1.0, 1.5),
    "sinc": lambda: degrade.sinc_kernel(21, math.pi / 3),
}
SIZES = {"iso": 15, "aniso": 21, "generalized": 17, "plateau": 13, "sinc": 21}


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_kernel_shape_dtype_and_unit_sum(kind):
    k = KERNELS[kind]()
    assert k.shape == (SIZES[kind], SIZES[kind]) and k.dtype == torch.float32
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-5)
    n = SIZES[kind] // 2
    assert int(k.argmax()) == n * SIZES[kind] + n  # peak at the centre


def test_isotropic_kernel_is_symmetric():
    k = degrade.isotropic_gaussian_kernel(15, 2.0)
    assert torch.allclose(k, k.T, atol=1e-8)
    assert torch.allclose(k, k.flip(0), atol=1e-8) and torch.allclose(k, k.flip(1), atol=1e-8)


@pytest.mark.parametrize("theta", [0.0, math.pi / 6, math.pi / 2, -math.pi / 3])
def test_anisotropic_kernels_are_elongated_along_theta(theta):
    for k in (degrade.anisotropic_gaussian_kernel(21, 4.0, 1.0, theta),
              degrade.generalized_gaussian_kernel(21, 4.0, 1.0, theta, 1.5),
              degrade.plateau_kernel(21, 4.0, 1.0, theta, 1.5)):
        assert _angle_diff(_principal_angle(k), theta) < 0.05
    horizontal = degrade.anisotropic_gaussian_kernel(21, 4.0, 1.0, 0.0)
    assert float(horizontal[10, 14]) > 10 * float(horizontal[14, 10])  # wide along columns, narrow along rows


def test_generalized_kernel_with_beta_one_is_the_gaussian_and_plateau_is_flatter():
    gauss = degrade.anisotropic_gaussian_kernel(15, 2.5, 1.5, 0.4)
    assert torch.allclose(degrade.generalized_gaussian_kernel(15, 2.5, 1.5, 0.4, 1.0), gauss, atol=1e-7)
    plateau = degrade.plateau_kernel(15, 2.5, 2.5, 0.0, 2.0)
    iso = degrade.isotropic_gaussian_kernel(15, 2.5)
    # Flat top: next to the centre a plateau drops less than a Gaussian of the same σ.
    assert float(plateau[7, 8] / plateau[7, 7]) > float(iso[7, 8] / iso[7, 7]) + 0.03


def test_sinc_kernel_has_negative_lobes_and_is_radially_symmetric():
    k = degrade.sinc_kernel(21, math.pi / 3)
    assert float(k.min()) < -1e-4
    assert torch.allclose(k, k.T, atol=1e-7) and torch.allclose(k, k.flip(0), atol=1e-7)
    assert float(k[10, 16]) == pytest.approx(float(k[16, 10]), abs=1e-7)


def test_random_blur_kernels_cover_the_configured_sizes_and_are_reproducible():
    rng = np.random.default_rng(0)
    kernels = [degrade.random_blur_kernel(rng, stage=1 + i % 2) for i in range(200)]
    sizes = {k.shape[0] for k in kernels}
    assert sizes <= set(range(7, 22, 2)) and len(sizes) >= 6
    assert all(abs(float(k.sum()) - 1) < 1e-5 for k in kernels)
    assert any(float(k.min()) < -1e-4 for k in kernels)  # some sinc kernels (probability 0.1)
    assert torch.equal(degrade.random_blur_kernel(7, 2), degrade.random_blur_kernel(np.random.default_rng(7), 2))
    with pytest.raises(InvalidInputError, match="stage"):
        degrade.random_blur_kernel(0, stage=3)


def test_stage_two_blur_is_narrower_on_average():
    def spread(k):
        n = k.shape[0]
        ax = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
        yy, xx = torch.meshgrid(ax, ax, indexing="ij")
        return float((k.double() * (xx ** 2 + yy ** 2)).sum())

    cfg = degrade.SecondOrderConfig(first=degrade.StageConfig(blur_sigma=(0.2, 3.0), sinc_prob=0.0),
                                    second=degrade.StageConfig(blur_sigma=(0.2, 1.5), sinc_prob=0.0))
    rng = np.random.default_rng(1)
    s1 = np.mean([spread(degrade.random_blur_kernel(rng, 1, cfg)) for _ in range(100)])
    s2 = np.mean([spread(degrade.random_blur_kernel(rng, 2, cfg)) for _ in range(100)])
    assert s2 < 0.5 * s1


@pytest.mark.parametrize("call", [
    lambda: degrade.isotropic_gaussian_kernel(8, 1.0),
    lambda: degrade.isotropic_gaussian_kernel(9, 0.0),
    lambda: degrade.generalized_gaussian_kernel(9, 1.0, 1.0, 0.0, -1.0),
    lambda: degrade.sinc_kernel(9, 4.0),
])
def test_kernel_parameters_are_validated(call):
    with pytest.raises(InvalidInputError, match="got"):
        call()


# ----------------------------------------------------------------------------- blur and resize

def test_blur_lowers_high_frequency_energy(astronaut):
    blurred = degrade.apply_kernel(astronaut, degrade.isotropic_gaussian_kernel(9, 1.5))
    assert blurred.shape == astronaut.shape
    assert _high_frequency_energy(blurred) < 0.2 * _high_frequency_energy(astronaut)
    delta = torch.zeros(5, 5)
    delta[2, 2] = 1
    assert torch.equal(degrade.apply_kernel(astronaut, delta), astronaut)


def test_apply_kernel_is_a_true_convolution_and_handles_tiny_images(astronaut):
    shift = torch.zeros(3, 3)
    shift[1, 0] = 1  # a tap at offset −1: convolution gives out[x] = in[x + 1] (correlation: in[x − 1])
    out = degrade.apply_kernel(astronaut, shift)
    assert torch.equal(out[..., :-1], astronaut[..., 1:])
    tiny = astronaut[..., :6, :6].contiguous()
    assert degrade.apply_kernel(tiny, degrade.isotropic_gaussian_kernel(21, 3.0)).shape == tiny.shape
    with pytest.raises(InvalidInputError, match="odd"):
        degrade.apply_kernel(astronaut, torch.ones(4, 4) / 16)


def test_random_resize_sizes(astronaut):
    rng = np.random.default_rng(3)
    for _ in range(20):
        out = degrade.random_resize(astronaut, rng, probs=(0.0, 1.0, 0.0), scale_range=(0.5, 1.5))
        assert 128 <= out.shape[-1] <= 256 and out.shape[-2] == out.shape[-1]
        assert 0 <= float(out.min()) and float(out.max()) <= 1
    for _ in range(10):
        out = degrade.random_resize(astronaut, rng, probs=(1.0, 0.0, 0.0), scale_range=(0.5, 1.5), base_size=(64, 32))
        assert 64 <= out.shape[-2] <= 96 and 32 <= out.shape[-1] <= 48
    assert torch.equal(degrade.random_resize(astronaut, rng, probs=(0.0, 0.0, 1.0)), astronaut)
    with pytest.raises(InvalidInputError, match="modes"):
        degrade.random_resize(astronaut, rng, modes=("lanczos",))


# ----------------------------------------------------------------------------- noise

def test_gaussian_noise_raises_the_noise_estimate_by_sigma(astronaut, coffee):
    for clean in (astronaut, coffee):
        for gray in (False, True):
            added = _added_sigma(degrade.add_gaussian_noise(clean, 15, seed=1, gray=gray), clean)
            assert added == pytest.approx(15, rel=0.12)


def test_gaussian_noise_default_is_unchanged(astronaut):
    gen = torch.Generator().manual_seed(4)
    want = (astronaut + torch.randn(astronaut.shape, generator=gen) * (20 / 255)).mul(255).round().clamp(0, 255) / 255
    assert torch.equal(degrade.add_gaussian_noise(astronaut, 20, seed=4), want)


def test_gray_noise_is_equal_across_channels(coffee):
    mid = ((coffee > 0.2) & (coffee < 0.8)).all(1, keepdim=True).expand_as(coffee)  # away from clipping
    diff = degrade.add_gaussian_noise(coffee, 10, seed=2, gray=True) - coffee
    assert float((diff[:, 0] - diff[:, 1])[mid[:, 0]].abs().max()) <= 1.01 / 255  # up to rounding
    assert float((diff[:, 1] - diff[:, 2])[mid[:, 0]].abs().max()) <= 1.01 / 255
    colour = degrade.add_gaussian_noise(coffee, 10, seed=2) - coffee
    assert float((colour[:, 0] - colour[:, 1])[mid[:, 0]].abs().mean()) > 5 / 255
    poisson = degrade.add_poisson_noise(coffee, 1.0, gray=True, seed=2) - coffee
    assert float((poisson[:, 0] - poisson[:, 2])[mid[:, 0]].abs().max()) <= 1.01 / 255


def test_poisson_noise_is_signal_dependent_with_the_expected_strength(astronaut, coffee):
    for clean in (astronaut, coffee):
        expected = float((255 * clean).sqrt().mean())  # scale · E[√v]
        noisy = degrade.add_poisson_noise(clean, 1.0, seed=3)
        assert _added_sigma(noisy, clean) == pytest.approx(expected, rel=0.2)
        assert torch.equal(noisy, degrade.add_poisson_noise(clean, 1.0, seed=3))
    noise = degrade.add_poisson_noise(coffee, 1.0, seed=5) - coffee
    dark, bright = coffee.mean(1, keepdim=True) < 0.15, coffee.mean(1, keepdim=True) > 0.6
    assert float(noise[dark.expand_as(noise)].std()) < 0.7 * float(noise[bright.expand_as(noise)].std())
    with pytest.raises(InvalidInputError, match="between"):
        degrade.add_poisson_noise(coffee, -1.0)


# ----------------------------------------------------------------------------- JPEG

def test_jpeg_introduces_8x8_blocking(coffee, astronaut):
    for clean in (coffee, astronaut):
        before = blocking_effect_factor(imageio.to_uint8_hwc(clean).astype(np.float64))
        after = blocking_effect_factor(imageio.to_uint8_hwc(degrade.jpeg(clean, 30)).astype(np.float64))
        assert after > before + 10
    batch = torch.cat([coffee, astronaut])
    out = degrade.jpeg(batch, [30, 90])
    assert out.shape == batch.shape
    assert torch.equal(out[1:], imageio.jpeg_compress(astronaut, 90))
    assert degrade.jpeg_compress is imageio.jpeg_compress
    with pytest.raises(InvalidInputError, match="one per image"):
        degrade.jpeg(batch, [30])


# ----------------------------------------------------------------------------- second-order model

def _on_8bit_grid(t: torch.Tensor) -> bool:
    return bool(torch.equal(t, (t * 255).round() / 255))


@pytest.mark.parametrize("scale", [4, 2, 1])
def test_second_order_shape_range_grid_and_determinism(astronaut, scale):
    hr = astronaut[..., :128, :128].contiguous()
    outs = [degrade.second_order(hr, scale, np.random.default_rng(seed)) for seed in range(12)]
    for out in outs:
        assert out.shape == (1, 3, 128 // scale, 128 // scale) and out.dtype == torch.float32
        assert 0 <= float(out.min()) and float(out.max()) <= 1 and _on_8bit_grid(out)
    assert torch.equal(degrade.second_order(hr, scale, 5), outs[5])  # int seed == default_rng(seed)
    assert not torch.equal(outs[0], outs[1])
    assert len({float(o.sum()) for o in outs}) == len(outs)


def test_second_order_degrades_the_image_but_keeps_its_content(astronaut):
    hr = astronaut[..., :128, :128].contiguous()
    ref = imageio.resize(hr, (32, 32), "bicubic")
    psnrs = [10 * math.log10(1 / float(((degrade.second_order(hr, 4, s) - ref) ** 2).mean())) for s in range(10)]
    assert 12 < np.median(psnrs) < 35


def test_second_order_batches_and_validates(astronaut):
    batch = torch.cat([astronaut[..., :64, :64], astronaut[..., 64:128, :64]])
    assert degrade.second_order(batch, 2, 0).shape == (2, 3, 32, 32)
    with pytest.raises(InvalidInputError, match="multiples"):
        degrade.second_order(astronaut[..., :66, :64], 4, 0)
    with pytest.raises(InvalidInputError, match="scale factor"):
        degrade.second_order(astronaut, 0, 0)
    with pytest.raises(InvalidInputError, match="float32"):
        degrade.second_order(astronaut.double(), 2, 0)
    with pytest.raises(InvalidInputError, match="Generator"):
        degrade.second_order(astronaut, 2, "seed")
    with pytest.raises(InvalidInputError, match="kernel_probs"):
        degrade.StageConfig(blur_sigma=(0.2, 3.0), kernel_probs=(0.5, 0.5, 0.0, 0.0, 0.0, 0.1))


def test_second_order_with_everything_switched_off_is_a_plain_resize(astronaut):
    off = degrade.StageConfig(blur_sigma=(0.2, 0.2), sinc_prob=0.0, kernel_probs=(1, 0, 0, 0, 0, 0),
                              resize_probs=(0.0, 0.0, 1.0), noise_sigma=(1e-6, 1e-6), gaussian_noise_prob=1.0,
                              jpeg_quality=(100, 100))
    cfg = degrade.SecondOrderConfig(first=off, second=off, second_blur_prob=0.0, final_sinc_prob=0.0,
                                    resize_modes=("area",))
    hr = astronaut[..., :128, :128].contiguous()
    out = degrade.second_order(hr, 2, 0, cfg)
    ref = torch.nn.functional.interpolate(hr, size=(64, 64), mode="area")
    assert float((out - ref).abs().mean()) < 2 / 255  # only σ = 0.2 blur and two QF-100 JPEGs remain


# ----------------------------------------------------------------------------- fixed evaluation mix

def test_fixed_mix_is_deterministic_and_sized(astronaut):
    out = degrade.fixed_mix(astronaut, 2, seed=0)
    assert out.shape == (1, 3, 128, 128) and _on_8bit_grid(out)
    assert torch.equal(out, degrade.fixed_mix(astronaut, 2, seed=0))
    assert not torch.equal(out, degrade.fixed_mix(astronaut, 2, seed=1))
    same = degrade.fixed_mix(astronaut, 1)
    assert same.shape == astronaut.shape and torch.equal(same, degrade.fixed_mix(astronaut, 1))
    assert degrade.fixed_mix(astronaut, 4).shape == (1, 3, 64, 64)
    # Degraded but recognisable: compare with the clean bicubic downscale.
    ref = imageio.resize(astronaut, (128, 128), "bicubic")
    psnr = 10 * math.log10(1 / float(((out - ref) ** 2).mean()))
    assert 20 < psnr < 35
    assert _high_frequency_energy(same) < 0.5 * _high_frequency_energy(astronaut)  # blur + ↓2↑2 win over noise
    assert 20 < 10 * math.log10(1 / float(((same - astronaut) ** 2).mean())) < 35
    with pytest.raises(InvalidInputError, match="multiples"):
        degrade.fixed_mix(astronaut[..., :255, :], 2)


# ----------------------------------------------------------------------------- photometric model

def _linear_luminance(rgb: torch.Tensor) -> float:
    lin = kornia.color.rgb_to_linear_rgb(rgb)
    return float((lin * torch.tensor([0.2126, 0.7152, 0.0722]).view(1, 3, 1, 1)).sum(1).mean())


def test_identity_photometric_returns_the_image(astronaut):
    out = degrade.photometric(astronaut, degrade.IDENTITY_PHOTOMETRIC)
    assert float((out - astronaut).abs().max()) < 1 / 255
    explicit = degrade.photometric(astronaut, degrade.PhotometricParams(ev=1e-9, gamma=1.0 + 1e-9))
    assert float((explicit - astronaut).abs().max()) < 1 / 255


def test_minus_one_ev_halves_linear_luminance(coffee):
    out = degrade.photometric(coffee, degrade.PhotometricParams(ev=-1))
    assert _linear_luminance(out) / _linear_luminance(coffee) == pytest.approx(0.5, rel=0.01)
    up = degrade.photometric(coffee, degrade.PhotometricParams(ev=0.5))
    assert 1.2 < _linear_luminance(up) / _linear_luminance(coffee) < math.sqrt(2) + 0.01  # clipping only lowers it


def test_white_balance_cast_shifts_channel_means(coffee):
    out = degrade.photometric(coffee, degrade.PhotometricParams(wb_gains=(1.2, 1.0, 0.8)))
    before, after = coffee.mean((0, 2, 3)), out.mean((0, 2, 3))
    assert after[0] > before[0] + 0.02 and after[2] < before[2] - 0.02
    assert float(after[1]) == pytest.approx(float(before[1]), abs=1e-4)
    lin_b = kornia.color.rgb_to_linear_rgb(out)[:, 2].mean() / kornia.color.rgb_to_linear_rgb(coffee)[:, 2].mean()
    assert float(lin_b) == pytest.approx(0.8, rel=0.01)  # darkening a channel never clips
    warm = degrade.photometric(coffee, degrade.DARK_WARM_CAST)
    assert _linear_luminance(warm) < 0.6 * _linear_luminance(coffee)
    assert float(warm[:, 0].mean() / warm[:, 2].mean()) > float(coffee[:, 0].mean() / coffee[:, 2].mean())


def test_gamma_and_contrast_behave_as_documented(astronaut):
    darker = degrade.photometric(astronaut, degrade.PhotometricParams(gamma=1.4))
    assert float(darker.mean()) < float(astronaut.mean()) - 0.03
    faded = degrade.photometric(astronaut, degrade.PhotometricParams(contrast=0.6))
    assert torch.allclose(faded, 0.6 * astronaut + 0.2, atol=1e-6)  # toward mid-gray 0.5


def test_random_photometric_is_seeded_and_in_range(coffee):
    params = [degrade.random_photometric(np.random.default_rng(s)) for s in range(50)]
    assert degrade.random_photometric(3) == params[3] and params[0] != params[1]
    for p in params:
        assert -1.5 <= p.ev <= 1.5 and 0.7 <= p.gamma <= 1.4 and 0.6 <= p.contrast <= 1
        assert all(0.8 <= g <= 1.2 for g in p.wb_gains)
    out = degrade.photometric(coffee, params[0])
    assert out.shape == coffee.shape and 0 <= float(out.min()) and float(out.max()) <= 1


@pytest.mark.parametrize("kwargs", [{"gamma": 0.0}, {"contrast": 1.5}, {"wb_gains": (1.0, 1.0)},
                                    {"wb_gains": (1.0, -1.0, 1.0)}, {"ev": float("nan")}])
def test_photometric_params_are_validated(kwargs):
    with pytest.raises(InvalidInputError, match="got"):
        degrade.PhotometricParams(**kwargs)
