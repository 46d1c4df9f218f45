"""Style transfer library: Gram matrix, losses, the Gatys loop, feature networks, Johnson networks, fast styles."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import enhancers.registry
from enhancers import imageio, loader, style
from enhancers.archs.johnson import JohnsonNet, build as build_johnson, resize_conv_state
from enhancers.archs.style_features import (VGG16_CFG, VGG16_LAYERS, VGG_LAYERS, build_random_vgg19, build_vgg19,
                                            random_vgg19_features, vgg19_layer_names)
from enhancers.errors import InvalidInputError, ModelUnavailableError
from enhancers.training.data import SKIMAGE_EVAL, skimage_dir

ROOT = Path(__file__).resolve().parents[1]
STYLES = ROOT / "examples" / "styles"
_PINNED_MAZE = "e51197a619714beb1308b79b5a4fee2c732f734b"
# Key names of the maze/FastStyleTransfer checkpoints (ConvBlock / ResidualBlock / DeconvBlock).
HUB_KEYS = (
    [f"ConvBlock.{i}.{m}.{p}" for i in (0, 2, 4) for m in ("conv_layer", "norm_layer") for p in ("weight", "bias")]
    + [f"ResidualBlock.{b}.{c}.{m}.{p}" for b in range(5) for c in ("conv1", "conv2")
       for m in ("conv_layer", "norm_layer") for p in ("weight", "bias")]
    + [f"DeconvBlock.{i}.{m}.{p}" for i in (0, 2) for m in ("conv_transpose", "norm_layer") for p in ("weight", "bias")]
    + ["DeconvBlock.4.conv_layer.weight", "DeconvBlock.4.conv_layer.bias"])


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """A held-out photo (scikit-image's coffee, never trained on), 96 px on its longer side."""
    assert "coffee.png" in SKIMAGE_EVAL
    return style.resize_long_side(imageio.open_image(skimage_dir() / "coffee.png").rgb, 96)


@pytest.fixture(scope="module")
def style_image() -> torch.Tensor:
    return imageio.open_image(STYLES / "elephants.jpg").rgb


# --- Gram matrix and losses --------------------------------------------------------------------------------------

def test_gram_matrix_matches_hand_computation() -> None:
    f = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).view(1, 2, 1, 3)
    # F·Fᵀ = [[1+4+9, 4+10+18], [4+10+18, 16+25+36]] = [[14, 32], [32, 77]], divided by C·H·W = 6.
    expected = torch.tensor([[14.0, 32.0], [32.0, 77.0]]) / 6
    assert torch.allclose(style.gram_matrix(f)[0], expected)


def test_gram_matrix_ignores_positions_and_keeps_batch() -> None:
    f = torch.randn(2, 4, 5, 6)
    shuffled = f.flatten(2)[:, :, torch.randperm(30)].view(2, 4, 5, 6)
    g = style.gram_matrix(f)
    assert g.shape == (2, 4, 4)
    assert torch.allclose(g, g.transpose(1, 2))
    assert torch.allclose(g, style.gram_matrix(shuffled), atol=1e-6)


def test_gram_matrix_rejects_wrong_rank() -> None:
    with pytest.raises(InvalidInputError, match=r"\(N, C, H, W\).*\(3, 4\)"):
        style.gram_matrix(torch.zeros(3, 4))


def test_relative_mse_and_tv() -> None:
    t = torch.randn(1, 3, 4, 4)
    assert float(style.relative_mse(t, t)) == 0.0
    assert float(style.relative_mse(torch.zeros_like(t), t)) == pytest.approx(1.0)
    assert float(style.tv_loss(torch.full((1, 3, 8, 8), 0.3))) == 0.0
    stripes = torch.zeros(1, 1, 4, 4)
    stripes[..., ::2] = 1.0  # every horizontal neighbour differs by 1, vertical ones by 0
    assert float(style.tv_loss(stripes)) == pytest.approx(1.0)


def test_luminance_transfer_keeps_chroma(photo) -> None:
    grey = style.luminance(photo)
    assert torch.allclose(style.with_luminance(grey, photo), photo, atol=1e-3)
    from kornia.color import rgb_to_ycbcr

    darker = grey * 0.9 + 0.02
    out = style.with_luminance(darker, photo)
    inside = (out > 0.01).all(1) & (out < 0.99).all(1)  # where no channel was clipped
    ycc = rgb_to_ycbcr(out)
    assert torch.allclose(ycc[:, 1:][:, :, inside[0]], rgb_to_ycbcr(photo)[:, 1:][:, :, inside[0]], atol=0.01)
    assert torch.allclose(ycc[:, :1][:, :, inside[0]], darker[:, :, inside[0]], atol=0.01)
    assert inside.float().mean() > 0.5


# --- Feature networks ----------------------------------------------------------------------------------------------

def test_vgg_layer_names_follow_torchvision_indices() -> None:
    names = vgg19_layer_names()
    assert names["vgg.relu1_1"] == 1 and names["vgg.relu2_1"] == 6 and names["vgg.relu3_1"] == 11
    assert names["vgg.relu4_2"] == 22 and names["vgg.relu5_1"] == 29 and len(names) == 16


def test_vgg16_layer_names_follow_torchvision_indices() -> None:
    names = vgg19_layer_names(VGG16_CFG)
    # The perceptual-loss ReLUs of torchvision's vgg16().features (enhancers.pretrained's docstring).
    assert [names[f"vgg.relu{n}"] for n in ("1_2", "2_2", "3_3", "4_3", "5_3")] == [3, 8, 15, 22, 29]
    assert len(names) == 13 and "vgg.relu3_4" not in names


def test_offline_vgg16_feature_network_is_the_imagenet_vgg16() -> None:
    from enhancers.pretrained import vgg16_features_imagenet

    net = loader.load_model("gatys/vgg16").module
    ref = vgg16_features_imagenet()
    assert torch.equal(net.vgg[28].weight, ref[28].weight) and torch.equal(net.vgg[0].bias, ref[0].bias)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.vgg)  # average pooling, as Gatys et al.
    assert set(net.layers) == set(VGG16_LAYERS) == set(style.available_layers("gatys/vgg16"))
    d = style.DEFAULT_LAYERS["gatys/vgg16"]
    out = net(torch.rand(1, 3, 64, 64), d.style + d.content)
    assert out["vgg.relu1_2"].shape == (1, 64, 64, 64) and out["vgg.relu4_3"].shape == (1, 512, 8, 8)
    assert style.DEFAULT_FEATURES == "gatys/vgg16" == style.feature_networks()[0]
    with pytest.raises(InvalidInputError, match="vgg.relu5_4.*offers"):
        net(torch.rand(1, 3, 32, 32), ["vgg.relu5_4"])


def test_random_vgg_is_reproducible() -> None:
    a, b = random_vgg19_features(), random_vgg19_features()
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a[0].weight, random_vgg19_features(seed=1)[0].weight)


def test_feature_net_returns_requested_layers_and_rejects_unknown() -> None:
    net = build_random_vgg19().module
    out = net(torch.rand(1, 3, 32, 40), ["vgg.relu1_1", "vgg.relu3_1"])
    assert out["vgg.relu1_1"].shape == (1, 64, 32, 40) and out["vgg.relu3_1"].shape == (1, 256, 8, 10)
    with pytest.raises(InvalidInputError, match="mobilenet.6.*offers vgg.relu1_1"):
        net(torch.rand(1, 3, 32, 32), ["mobilenet.6"])


def test_hybrid_offers_mobilenet_and_vgg_layers() -> None:
    net = loader.load_model("gatys/hybrid").module
    out = net(torch.rand(1, 3, 64, 64), list(style.DEFAULT_LAYERS["gatys/hybrid"].style))
    assert out["mobilenet.1"].shape[1] == 16 and out["mobilenet.13"].shape[1] == 96
    assert out["vgg.relu3_1"].shape == (1, 256, 16, 16)
    assert set(style.available_layers("gatys/hybrid")) >= set(out)


def test_vgg19_builder_loads_timm_key_names() -> None:
    vgg = random_vgg19_features(seed=3)
    state = {f"features.{k}": v for k, v in vgg.state_dict().items()}
    state["pre_logits.fc1.weight"] = torch.zeros(8, 8)  # timm's classifier keys are ignored
    state["head.fc.weight"] = torch.zeros(4, 8)
    net = build_vgg19(state).module
    assert torch.equal(net.vgg[28].weight, vgg[28].weight)
    assert set(net.layers) == set(VGG_LAYERS)
    del state["features.34.bias"]
    with pytest.raises(InvalidInputError, match="features.34.bias"):
        build_vgg19(state)


def test_hub_vgg19_offline_gives_clear_error(photo, style_image, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = style.GatysConfig(steps=2, size=64, features="gatys/vgg19")
    with pytest.raises(ModelUnavailableError, match=r"gatys/vgg19.*timm/vgg19\.tv_in1k.*gatys/vgg16"):
        next(style.gatys(photo, style_image, cfg))


# --- Gatys loop --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_total_loss_decreases_over_10_steps(photo, style_image, optimizer) -> None:
    cfg = style.GatysConfig(steps=10, size=64, optimizer=optimizer, every=10)
    *_, last = style.gatys(photo, style_image, cfg)
    h = last.history
    assert h.step == list(range(11))
    assert h.total[-1] < 0.8 * h.total[0], h.total
    assert h.style[-1] < h.style[0]
    assert all(torch.isfinite(torch.tensor(h.total)))


def test_intermediate_images_stream(photo, style_image) -> None:
    cfg = style.GatysConfig(steps=6, size=64, every=2, init="noise")
    updates = [(u.step, u.image.clone(), u.done) for u in style.gatys(photo, style_image, cfg)]
    assert [s for s, _, _ in updates] == [0, 2, 4, 6]
    assert [d for _, _, d in updates] == [False, False, False, True]
    for _, img, _ in updates:
        assert img.shape == (1, 3, 43, 64) and img.dtype == torch.float32  # coffee is 600×400
        assert 0 <= float(img.min()) and float(img.max()) <= 1
    assert all(not torch.equal(a[1], b[1]) for a, b in zip(updates, updates[1:]))


def test_should_stop_ends_the_run_early(photo, style_image) -> None:
    calls = []
    cfg = style.GatysConfig(steps=50, size=64, every=100)
    updates = list(style.gatys(photo, style_image, cfg, should_stop=lambda: calls.append(1) or len(calls) >= 3))
    assert [u.step for u in updates] == [0, 3] and updates[-1].done


def test_preserve_colors_keeps_content_chroma(photo, style_image) -> None:
    from kornia.color import rgb_to_ycbcr

    cfg = style.GatysConfig(steps=5, size=96, preserve_colors=True, every=5)
    *_, last = style.gatys(photo, style_image, cfg)
    assert torch.allclose(rgb_to_ycbcr(last.image)[:, 1:], rgb_to_ycbcr(photo)[:, 1:], atol=0.03)


def test_custom_layers_and_weights_are_used(photo, style_image) -> None:
    cfg = style.GatysConfig(steps=2, size=64, style_layers=("vgg.relu1_1",), content_layers=(), tv_weight=0.0)
    *_, last = style.gatys(photo, style_image, cfg)
    assert last.history.content == [0.0, 0.0, 0.0]
    assert last.history.total[-1] == pytest.approx(10.0 * last.history.style[-1], rel=1e-5)


@pytest.mark.parametrize(("change", "message"), [
    ({"steps": 0}, "steps must be 1–2000, got 0"),
    ({"size": 8}, "working size must be 64–1024 px, got 8"),
    ({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam, got 'sgd'"),
    ({"init": "zeros"}, "init must be one of content, noise"),
    ({"features": "style/elephants"}, "not a Gatys feature network"),
    ({"style_layers": ("vgg.relu9_9",)}, "unknown feature layer"),
    ({"style_weight": -1.0}, "loss weights must be ≥ 0"),
])
def test_bad_settings_raise_clear_errors(photo, style_image, change, message) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        next(style.gatys(photo, style_image, replace(style.GatysConfig(size=64), **change)))


def test_bad_images_raise_clear_errors(photo) -> None:
    with pytest.raises(InvalidInputError, match="style image"):
        next(style.gatys(photo, torch.rand(1, 4, 32, 32)))
    with pytest.raises(InvalidInputError, match="at least 16 px"):
        next(style.gatys(photo, torch.rand(1, 3, 8, 32)))


# --- Johnson networks --------------------------------------------------------------------------------------------

def _hub_state(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in JohnsonNet().state_dict().items()}


def test_johnson_net_has_the_hub_key_names() -> None:
    assert sorted(_hub_state()) == sorted(HUB_KEYS)


def test_hub_architecture_loads_random_state_dict_with_hub_keys(tmp_path) -> None:
    state = {k: torch.randn(v.shape) * 0.05 for k, v in _hub_state().items()}
    path = tmp_path / "Random_512.pth"
    torch.save(state, path)
    net = build_johnson(loader.read_state_dict(path)).module
    for k in HUB_KEYS:
        assert torch.equal(net.state_dict()[k], state[k]), k
    out = net(torch.rand(1, 3, 37, 50))
    assert out.shape == (1, 3, 37, 50) and torch.isfinite(out).all()
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    with pytest.raises(InvalidInputError, match="key 'ConvBlock.0.conv_layer.weight' missing"):
        build_johnson({"features.0.weight": torch.zeros(1)})
    del state["DeconvBlock.4.conv_layer.bias"]
    with pytest.raises(InvalidInputError, match="DeconvBlock.4.conv_layer.bias"):
        build_johnson(state)


@pytest.mark.parametrize(("width", "blocks", "upsample"), [(8, 1, "transpose"), (16, 3, "transpose"),
                                                         (8, 1, "resize"), (16, 3, "resize")])
def test_small_johnson_round_trips_through_safetensors(tmp_path, width, blocks, upsample) -> None:
    net = JohnsonNet(width, blocks, value_range=1.0, residual=True, upsample=upsample)
    path = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    again = build_johnson(load_file(str(path)), value_range=1.0, residual=True, upsample=upsample).module
    x = torch.rand(1, 3, 30, 41)
    assert torch.allclose(net.eval()(x), again(x))
    assert again(x).shape == x.shape and not torch.isnan(again(x)).any()
    other = "resize" if upsample == "transpose" else "transpose"
    with pytest.raises(InvalidInputError, match="do not match the Johnson architecture"):
        build_johnson(load_file(str(path)), value_range=1.0, residual=True, upsample=other)


def test_unknown_upsampling_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="upsample must be one of transpose, resize, got 'bicubic'"):
        JohnsonNet(8, 1, upsample="bicubic")


def test_resize_conv_state_converts_transposed_kernels() -> None:
    torch.manual_seed(0)
    old = JohnsonNet(8, 1, value_range=1.0, residual=True).state_dict()
    new = resize_conv_state(old)
    net = JohnsonNet(8, 1, value_range=1.0, residual=True, upsample="resize")
    net.load_state_dict(new)  # strict: every key and shape matches the resize layout
    k = "DeconvBlock.0.conv_transpose.weight"
    assert new["DeconvBlock.0.conv_layer.weight"].shape == (16, 32, 3, 3) and old[k].shape == (32, 16, 3, 3)
    assert torch.equal(new["DeconvBlock.0.conv_layer.weight"][2, 5], old[k][5, 2].flip(-1, -2))
    assert torch.equal(new["ResidualBlock.0.conv1.conv_layer.weight"], old["ResidualBlock.0.conv1.conv_layer.weight"])


@pytest.mark.parametrize("shape", [(1, 5, 7, 9), (2, 5, 1, 4), (1, 5, 2, 2)])
def test_resize_conv_phases_equal_upsample_pad_convolve(shape) -> None:
    from torch.nn.functional import conv2d, interpolate, pad, pixel_shuffle

    from enhancers.archs.johnson import ResizeConvLayer

    torch.manual_seed(0)
    layer = ResizeConvLayer(5, 3)
    x = torch.randn(shape)
    with torch.no_grad():
        layer.norm_layer.weight.uniform_(0.5, 2)
        layer.norm_layer.bias.uniform_(-1, 1)
        out, ref = layer(x), layer.reference(x)
        # before the InstanceNorm, so that the border pixels are compared on their own scale
        literal = conv2d(pad(interpolate(x, scale_factor=2), (1, 1, 1, 1), mode="reflect"),
                         layer.conv_layer.weight, layer.conv_layer.bias)
        phased = pixel_shuffle(conv2d(pad(x, (1, 1, 1, 1), mode="replicate"), *layer.phase_weights()), 2)
    assert out.shape == (shape[0], 3, 2 * shape[2], 2 * shape[3])
    assert torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(phased, literal, atol=1e-5)


def test_resize_upsampling_has_no_checkerboard() -> None:
    """Odena et al. 2016: with equal weights on a flat input, a stride-2 transposed 3×3 convolution gives output
    pixels 1, 2 or 4 input taps (a checkerboard); nearest ×2 + 3×3 convolution gives every pixel the same sum."""
    spread = {}
    for mode in ("transpose", "resize"):
        layer = JohnsonNet(1, 0, upsample=mode).DeconvBlock[2]  # the second ×2 upsampling (channels 2 → 1)
        with torch.no_grad():
            for p in layer.parameters():
                p.fill_(1.0)
            out = layer(torch.ones(1, 2, 8, 8))
        assert out.shape == (1, 1, 16, 16)
        spread[mode] = float(out[0, 0, 2:-2, 2:-2].std())
    assert spread["transpose"] > 0.5
    assert spread["resize"] < 1e-5


@pytest.mark.parametrize("spec_id", ["style/maze-starry-night", "style/maze-mosaic"])
def test_hub_fast_style_downloads_and_runs(spec_id, fake_style_hub, monkeypatch) -> None:
    spec = enhancers.registry.REGISTRY[spec_id]
    repo, commit = fake_style_hub
    # Mosaic follows the branch "main" (its commit is not pinned); the others keep their pinned commit.
    revision = commit if spec.source.revision == _PINNED_MAZE else spec.source.revision
    monkeypatch.setitem(enhancers.registry.REGISTRY, spec_id,
                        replace(spec, source=replace(spec.source, repo_id=repo, revision=revision)))
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())
    out = style.fast_stylize(torch.rand(1, 3, 20, 28), spec_id)
    assert out.shape == (1, 3, 20, 28) and torch.isfinite(out).all()


@pytest.fixture
def fake_style_hub(tmp_path, monkeypatch):
    """The loader tests' fake Hub serving random-weight Starry Night and Mosaic ``.pth`` files with the Hub key names."""
    from test_loader import COMMIT, REPO, FakeHub

    served = tmp_path / "served"
    served.mkdir()
    for name in ("Starry_Night_512.pth", "Mosaic_512.pth"):
        torch.save({k: torch.randn(v.shape) * 0.05 for k, v in _hub_state().items()}, served / name)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub = FakeHub(served, lfs_redirect=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    yield REPO, COMMIT
    hub.close()


def test_fast_stylize_validates_inputs(photo) -> None:
    with pytest.raises(InvalidInputError, match=r"strength must be in \[0, 1\], got 1.5"):
        style.fast_stylize(photo, style.DEFAULT_FAST, 1.5)
    with pytest.raises(InvalidInputError, match="not a fast style network"):
        style.fast_stylize(photo, "sr/bicubic")
    with pytest.raises(InvalidInputError, match="at least 16 px"):
        style.fast_stylize(torch.rand(1, 3, 8, 64), "style/maze-starry-night")


# --- Quality measures (enhancers.style_metrics) -------------------------------------------------------------------

def test_lab_sliced_wasserstein_matches_scipy_and_is_zero_for_same_colours(photo, style_image) -> None:
    import numpy as np
    from kornia.color import rgb_to_lab
    from scipy.stats import wasserstein_distance

    from enhancers import style_metrics

    shuffled = photo.flatten(2)[:, :, torch.randperm(photo[0, 0].numel())].view_as(photo)
    assert style_metrics.lab_sliced_wasserstein(photo, shuffled) < 1e-6  # positions do not matter
    d = style_metrics.lab_sliced_wasserstein(photo, style_image, projections=8)
    a, b = (rgb_to_lab(t)[0].reshape(3, -1).T.numpy() for t in (photo, style_image))
    dirs = np.random.default_rng(0).normal(size=(3, 8))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    reference = np.mean([wasserstein_distance(a @ dirs[:, i], b @ dirs[:, i]) for i in range(8)])
    assert d > 5 and abs(d - reference) < 0.05 * reference


def test_alexnet_gram_distance_is_zero_for_the_style_itself(photo, style_image) -> None:
    from enhancers import style_metrics

    s = style.resize_long_side(style_image, 128)
    assert style_metrics.gram_distance(s, s) < 1e-6
    assert 0.3 < style_metrics.gram_distance(style.resize_long_side(photo, 128), s) <= 1.0
    assert style_metrics.structure_ssim(photo, photo) == pytest.approx(1.0)
