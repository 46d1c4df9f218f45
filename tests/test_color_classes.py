"""The classification colorizer (Zhang et al. 2016): bins, annealed mean, soft targets, rebalancing, weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from test_color import _assert_builder_reproduces, colorizer_outputs

from enhancers.archs.color_class_unet import ANNEAL_T, BIN_SIZE, ColorClassUNet, ab_bins
from enhancers.lab import AB_SCALE, gray_to_rgb, rgb_to_lab_scaled
from enhancers.training.colorize_classes import class_loss, new_model, rebalance_weights, soft_targets


def test_bins_are_the_in_gamut_cells_of_the_ten_unit_grid():
    bins = ab_bins()
    assert bins.dtype == torch.float32 and bins.shape[1] == 2
    assert 200 < len(bins) < 23 * 23  # a 23 × 23 grid spans ±110; sRGB reaches only part of it
    assert torch.equal(bins, ab_bins())  # deterministic
    assert torch.equal(bins.remainder(BIN_SIZE), torch.zeros_like(bins))
    assert (bins == 0).all(dim=1).any()  # neutral gray is a class
    # sRGB's extremes are classes: green (a* ≈ −86), magenta (a* ≈ 98), blue (b* ≈ −108), yellow (b* ≈ 95)
    extremes = rgb_to_lab_scaled(torch.tensor([[0.0, 1, 0, 1], [1.0, 0, 0, 1], [0.0, 1, 1, 0]]).view(1, 3, 1, 4))
    ab = extremes[0, 1:, 0].T * AB_SCALE
    assert torch.cdist(ab, bins).min(dim=1).values.max() <= BIN_SIZE / 2 * 2 ** 0.5 + 1e-4
    assert not ((bins[:, 0] == 100) & (bins[:, 1] == 100)).any()  # far outside sRGB at every L*


def test_class_unet_shape_range_gray_lightness_and_no_nan_any_size():
    torch.manual_seed(0)
    net = ColorClassUNet().eval()
    for gray, out in colorizer_outputs(net):
        assert out.abs().max() <= 1
        # L* is the gray input's own, as the pipeline's combine() computes it
        assert torch.allclose(out[:, :1], rgb_to_lab_scaled(gray_to_rgb(gray))[:, :1], atol=1e-4)
    with torch.no_grad():
        assert net.class_logits(torch.rand(1, 1, 64, 32)).shape == (1, len(net.bins), 64, 32)


def test_annealed_mean_goes_from_the_mean_at_t1_to_the_mode_as_t_falls():
    net = ColorClassUNet()
    q = len(net.bins)
    i, j = 0, q - 1  # two far-apart bins, the first a little more likely
    logits = torch.full((1, q, 1, 1), -30.0)
    logits[0, i], logits[0, j] = 0.2, 0.0
    p_i = torch.sigmoid(torch.tensor(0.2))
    mean = net.annealed_mean(logits, 1.0)[0, :, 0, 0]
    assert torch.allclose(mean, p_i * net.bins[i] + (1 - p_i) * net.bins[j], atol=1e-3)
    mode = net.annealed_mean(logits, 0.01)[0, :, 0, 0]
    assert torch.allclose(mode, net.bins[i], atol=1e-3)
    between = net.annealed_mean(logits, ANNEAL_T)[0, :, 0, 0]
    # sharper than the mean: nearer bin i, and further from gray than the mean when both bins are chromatic
    assert (between - net.bins[i]).norm() < (mean - net.bins[i]).norm()


def test_class_unet_random_weight_roundtrip_through_the_registry_builder(tmp_path, monkeypatch):
    torch.manual_seed(3)
    net = ColorClassUNet()
    net.train()(torch.rand(4, 1, 64, 64))  # move the batch-norm statistics away from their defaults
    net.eval()
    state = net.state_dict()
    assert "bins" not in state  # the bins are computed, not stored
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "tiny.safetensors"))
    _assert_builder_reproduces(net, "color-class-unet", tmp_path, monkeypatch)


def test_body_starts_from_regression_weights_and_refuses_others(tmp_path):
    from enhancers.archs.color_unet import ColorUNet

    torch.manual_seed(4)
    reg = ColorUNet()
    save_file({k: v.contiguous() for k, v in reg.state_dict().items()}, str(tmp_path / "reg.safetensors"))
    net = new_model(str(tmp_path / "reg.safetensors"))
    assert torch.equal(net.encoder[2][0].conv[0][0].weight, reg.encoder[2][0].conv[0][0].weight)
    assert torch.equal(net.decoder[0][0].weight, reg.decoder[0][0].weight)
    save_file({"head.weight": torch.zeros(3, 16, 1, 1), "other": torch.zeros(1)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match="not a colorization U-Net"):
        new_model(str(tmp_path / "bad.safetensors"))


def test_soft_targets_weight_the_five_nearest_bins_and_name_the_nearest():
    bins = ab_bins()
    ab = torch.tensor([[0.0, 0.0], [23.0, -41.0], [3.0, 4.0]]).T.reshape(1, 2, 1, 3)
    target, nearest = soft_targets(ab, bins)
    assert target.shape == (1, len(bins), 1, 3) and nearest.shape == (1, 1, 3)
    assert torch.allclose(target.sum(dim=1), torch.ones(1, 1, 3))
    assert ((target > 0).sum(dim=1) == 5).all()
    for k, point in enumerate(ab[0, :, 0].T):
        d = (bins - point).norm(dim=1)
        assert nearest[0, 0, k] == d.argmin()
        assert target[0, d.argmin(), 0, k] == target[0, :, 0, k].max()
    # on a bin centre, the four neighbours at 10 units get exp(−100 / 50) of the centre's weight
    t0 = target[0, :, 0, 0]
    assert float(t0.max() / t0[t0 > 0].min()) == pytest.approx(np.exp(2.0), rel=1e-4)


def test_rebalancing_raises_rare_colours_and_lambda_one_is_uniform():
    bins = ab_bins()
    rng = np.random.default_rng(0)
    img = np.full((3, 40, 40), 128, dtype=np.uint8)  # mostly gray …
    img[:, :4, :4] = np.array([200, 30, 30], dtype=np.uint8)[:, None, None]  # … with a little red
    pool = [[torch.from_numpy(img)], [torch.from_numpy(rng.integers(120, 136, (3, 30, 30), dtype=np.uint8))]]
    w, prior = rebalance_weights(pool, bins, lam=0.5)
    assert float((prior * w).sum()) == pytest.approx(1.0, abs=1e-5)
    gray_bin = (bins == 0).all(dim=1).nonzero()[0, 0]
    red = rgb_to_lab_scaled(torch.tensor([200 / 255, 30 / 255, 30 / 255]).view(1, 3, 1, 1))[0, 1:, 0, 0] * AB_SCALE
    red_bin = (bins - red).norm(dim=1).argmin()
    assert prior[gray_bin] > prior[red_bin] and w[red_bin] > w[gray_bin]
    w1, _ = rebalance_weights(pool, bins, lam=1.0)
    assert torch.allclose(w1, torch.ones_like(w1))


def test_class_loss_is_lowest_for_the_target_distribution():
    bins = ab_bins()
    target, nearest = soft_targets(torch.tensor([[30.0], [10.0]]).view(1, 2, 1, 1), bins)
    weights = torch.ones(len(bins))
    exact = class_loss(target.clamp_min(1e-12).log(), target, nearest, weights)
    wrong = class_loss(target.flip(1).clamp_min(1e-12).log(), target, nearest, weights)
    assert exact < wrong
    assert float(class_loss(target.clamp_min(1e-12).log(), target, nearest, 2 * weights)) == pytest.approx(
        2 * float(exact), rel=1e-5)


# --- the bundled colour-class model on real photos ----------------------------------------------------------------


def test_temperature_reaches_class_models_only_and_the_cli_checks_it(tmp_path, capsys):
    from enhancers import cli, colorize, imageio
    from enhancers.lab import ntsc_gray
    from enhancers.training import data

    assert colorize.takes_temperature("color/classes") and not colorize.takes_temperature("color/unet")
    hr = data.prepare_hr(data.skimage_dir() / "chelsea.png", crop=128)
    gray = gray_to_rgb(ntsc_gray(hr))
    sharp = colorize.colorize(gray, "color/classes", ensemble=False, temperature=0.1)
    flat = colorize.colorize(gray, "color/classes", ensemble=False, temperature=1.0)
    assert not torch.equal(sharp, flat)
    # a regression model has no temperature: the value is ignored, not an error
    assert torch.equal(colorize.colorize(gray, "color/unet", ensemble=False, temperature=0.1),
                       colorize.colorize(gray, "color/unet", ensemble=False))
    src = imageio.save_png(tmp_path / "cat.png", gray)
    assert cli.main(["colorize", str(src), "--output-dir", str(tmp_path / "o"), "--model", "color/classes",
                     "--temperature", "3"]) != 0
    err = capsys.readouterr().err
    assert "temperature must be in [0.1, 1], got 3" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "cat.png").exists()
    assert cli.main(["colorize", str(src), "--output-dir", str(tmp_path / "o"), "--model", "color/classes",
                     "--temperature", "0.5", "--no-ensemble"]) == 0
    expected = colorize.colorize(imageio.open_image(src).rgb, "color/classes", ensemble=False, temperature=0.5,
                                 out_dtype=torch.uint8)
    assert torch.equal(imageio.open_image(tmp_path / "o" / "cat.png").rgb.mul(255).round().to(torch.uint8), expected)


def test_bundled_class_model_is_vivid_and_keeps_lightness_on_heldout_photos():
    """Real held-out photos (256 px crops, never trained on), the default T = 0.38 and ensemble: the colour comes
    back at least as strong as in the originals overall, stronger than color/unet's, nearer in a*b* than gray,
    RGB PSNR at least 0.5 dB above the gray photo's, and the photo's own L* kept."""
    from enhancers import colorize
    from enhancers.color_metrics import ab_error, colourfulness, lightness_psnr, rgb_psnr
    from enhancers.lab import ntsc_gray
    from enhancers.training import data

    cf = {"orig": 0.0, "color/classes": 0.0, "color/unet": 0.0}
    psnr_gain, ab_out, ab_gray = [], 0.0, 0.0
    for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"):
        assert name in data.SKIMAGE_EVAL
        hr = data.prepare_hr(data.skimage_dir() / name, crop=256)
        gray = gray_to_rgb(ntsc_gray(hr)).mul(255).round().div(255)
        out = colorize.colorize(gray, "color/classes")
        assert out.shape == hr.shape and lightness_psnr(out, gray) >= 38
        cf["orig"] += float(colourfulness(hr)[0])
        cf["color/classes"] += float(colourfulness(out)[0])
        cf["color/unet"] += float(colourfulness(colorize.colorize(gray, "color/unet"))[0])
        psnr_gain.append(rgb_psnr(out, hr) - rgb_psnr(gray, hr))
        ab_out += ab_error(out, hr)
        ab_gray += ab_error(gray, hr)
    assert cf["color/classes"] / cf["orig"] >= 0.9, cf
    assert cf["color/classes"] > 1.2 * cf["color/unet"], cf
    assert sum(psnr_gain) / len(psnr_gain) >= 0.5, psnr_gain
    assert ab_out < ab_gray
