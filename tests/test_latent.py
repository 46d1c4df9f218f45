"""Latent explorer: VAE maths, architectures, bundled models' held-out quality bars, sketch preprocessing,
pictures, and the app's ``/latent_*`` API through gradio_client."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from enhancers import imageio, latent, latent_plot
from enhancers.archs import get_builder
from enhancers.archs.mnist_nets import Autoencoder2D, Discriminator, kl_divergence, reparameterize
from enhancers.errors import InvalidInputError, UnknownModelError
from enhancers.loader import read_state_dict
from enhancers.registry import get_spec, list_specs

LATENT_IDS = (latent.VAE_ID, latent.AE_ID, latent.GAN_ID, latent.CLASSIFIER_ID)


# --- VAE maths ----------------------------------------------------------------------------------------------------


def test_kl_of_the_prior_is_zero() -> None:
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    assert torch.allclose(kl_divergence(mu, logvar), torch.zeros(3))


def test_kl_of_unit_mean_is_half_per_dimension() -> None:
    assert torch.allclose(kl_divergence(torch.ones(4, 2), torch.zeros(4, 2)), torch.full((4,), 1.0))
    assert torch.allclose(kl_divergence(torch.ones(1, 5), torch.zeros(1, 5)), torch.tensor([2.5]))


def test_kl_matches_closed_form_for_a_narrow_gaussian() -> None:
    # KL(N(0, s²) || N(0, 1)) = 0.5 (s² − 1 − ln s²) per dimension
    logvar = torch.full((1, 2), math.log(0.25))
    expected = 2 * 0.5 * (0.25 - 1 - math.log(0.25))
    assert kl_divergence(torch.zeros(1, 2), logvar).item() == pytest.approx(expected, rel=1e-6)


def test_reparameterize_with_zero_variance_returns_mu() -> None:
    mu = torch.tensor([[0.3, -1.2], [2.0, 0.5]])
    z = reparameterize(mu, torch.full_like(mu, -1e4))
    assert torch.equal(z, mu)


def test_reparameterize_with_fixed_generator_is_mu_plus_sigma_eps() -> None:
    mu, logvar = torch.tensor([[0.5, -0.5]]), torch.tensor([[math.log(4.0), 0.0]])
    eps = torch.randn(1, 2, generator=torch.Generator().manual_seed(7))
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(7))
    assert torch.allclose(z, mu + torch.tensor([[2.0, 1.0]]) * eps)
    assert torch.equal(reparameterize(mu, logvar, torch.Generator().manual_seed(7)), z)


# --- Architectures with random weights ----------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", LATENT_IDS)
def test_registry_spec(model_id: str) -> None:
    spec = get_spec(model_id)
    assert spec.task == "latent" and spec.scale == 1 and spec.tiling.enabled is False
    assert spec.source.filename == f"{model_id.replace('/', '-')}.safetensors"
    assert spec.source.path.stat().st_size < 3 * 2**20
    assert spec.paper.startswith("https://") and "MIT" in spec.license
    assert spec in list_specs("latent")


def _random_build(arch: str, **kwargs):
    torch.manual_seed(0)
    return get_builder(arch)(None, **kwargs).module


@pytest.mark.parametrize("arch", ["vae2d", "ae2d", "dcgan", "digit-classifier"])
def test_random_weight_build_shapes_ranges_and_safetensors_round_trip(arch: str, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    module = _random_build(arch)
    assert not module.training
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        if arch in ("vae2d", "ae2d"):
            mu, logvar = module.encode(x)
            assert mu.shape == (5, 2) and (logvar is None) == (arch == "ae2d")
            out = module.decode(mu)
            assert out.shape == (5, 1, 28, 28) and 0 <= out.min() and out.max() <= 1
        elif arch == "dcgan":
            out = module.generate(torch.randn(5, 32))
            assert out.shape == (5, 1, 28, 28) and 0 <= out.min() and out.max() <= 1
        else:
            out = module.predict(x)
            assert out.shape == (5, 10) and torch.allclose(out.sum(1), torch.ones(5))
    assert torch.isfinite(out).all()
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    again = get_builder(arch)(read_state_dict(path)).module
    with torch.no_grad():
        if arch in ("vae2d", "ae2d"):
            assert torch.equal(again.decode(again.encode(x)[0]), module.decode(module.encode(x)[0]))
        elif arch == "dcgan":
            z = torch.randn(3, 32)
            assert torch.equal(again.generate(z), module.generate(z))
        else:
            assert torch.equal(again.predict(x), module.predict(x))


def test_discriminator_shape_and_vae_flag() -> None:
    assert Discriminator()(torch.rand(4, 1, 28, 28) * 2 - 1).shape == (4,)
    assert Autoencoder2D(variational=True).head.out_features == 4
    assert Autoencoder2D(variational=False).head.out_features == 2


# --- Bundled models: held-out quality bars ------------------------------------------------------------------------


def test_heldout_digits_are_shipped_balanced_and_small() -> None:
    held = latent.heldout()
    assert held.digits.shape == (500, 1, 28, 28) and held.digits.dtype == torch.float32
    assert torch.bincount(held.labels).tolist() == [50] * 10
    assert 0 <= held.digits.min() and held.digits.max() == 1
    assert latent.HELDOUT_PATH.stat().st_size < 500_000


def test_classifier_heldout_accuracy_at_least_97_percent() -> None:
    held = latent.heldout()
    labels, conf = latent.classify(held.digits)
    acc = (labels == held.labels).float().mean().item()
    assert acc >= 0.97, acc
    assert conf.min() >= 0.1 and conf.max() <= 1


def test_vae_grid_covers_8_classes_and_60_percent_confident() -> None:
    q = latent.grid_quality(latent.VAE_ID, n=15, extent=2.5)
    assert q.n == 225 and q.extent == 2.5
    assert q.classes_covered >= 8, q
    assert q.confident_fraction >= 0.60, q


def test_gan_samples_70_percent_confident() -> None:
    q = latent.gan_quality(n=500, seed=0)
    assert q.confident_fraction >= 0.70, q
    # not collapsed onto a few classes; the classes it dropped are the ones its card reports
    shipped = latent.metrics()
    dropped = shipped["gan_training"]["dropped_classes"]
    assert q.classes_covered >= 9 and len(dropped) <= 1, q
    assert shipped["gan"]["class_hist"] == q.class_counts
    assert all(q.class_counts[c] < 0.03 * q.n for c in dropped)


def test_vae_heldout_elbo_and_reconstructions() -> None:
    from enhancers.training.latent import vae_heldout_metrics

    held = latent.heldout()
    m = vae_heldout_metrics(latent.loaded_module(latent.VAE_ID), held.digits)
    assert 0 < m["kl"] < 20 and 50 < m["recon"] < 200
    assert m["elbo"] == pytest.approx(-(m["recon"] + m["kl"]))
    shipped = latent.metrics()
    assert shipped is not None and shipped["vae"]["elbo"] == pytest.approx(m["elbo"], rel=1e-4)


# --- Library functions --------------------------------------------------------------------------------------------


def test_encode_decode_shapes_ranges_and_latent_map() -> None:
    held = latent.heldout()
    z = latent.encode(held.digits[:8])
    assert z.shape == (8, 2) and z.dtype == torch.float32
    x, y = latent.encode_point(held.digits[:1])
    assert (x, y) == pytest.approx(tuple(z[0].tolist()), abs=1e-5)
    d = latent.decode(x, y)
    assert d.shape == (1, 1, 28, 28) and 0 <= d.min() and d.max() <= 1
    lmap = latent.latent_map(latent.VAE_ID)
    assert lmap.codes.shape == (500, 2) and lmap.extent == 2.5
    assert latent.latent_map(latent.AE_ID).extent > 0


def test_vae_map_is_near_the_prior() -> None:
    codes = latent.latent_map(latent.VAE_ID).codes
    assert codes.mean(0).abs().max() < 0.5 and 0.3 < codes.std(0).min() and codes.std(0).max() < 1.5


def test_decoded_grid_layout() -> None:
    g = latent.decoded_grid(latent.VAE_ID, n=5, extent=2.0)
    assert g.digits.shape == (25, 1, 28, 28)
    assert g.points[0].tolist() == [-2.0, 2.0] and g.points[4].tolist() == [2.0, 2.0]
    assert g.points[-1].tolist() == [2.0, -2.0]
    assert torch.allclose(g.digits[7], latent.decode(*g.points[7].tolist())[0], atol=1e-6)


def test_lerp_and_slerp() -> None:
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(32, generator=g), torch.randn(32, generator=g)
    b = b / b.norm() * a.norm()
    for path in (latent.lerp(a, b, 7), latent.slerp(a, b, 7)):
        assert path.shape == (7, 32)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    norms = latent.slerp(a, b, 9).norm(dim=1)
    assert torch.allclose(norms, torch.full((9,), a.norm().item()), rtol=1e-4)  # stays on the sphere
    assert latent.lerp(a, b, 9).norm(dim=1)[4] < 0.95 * a.norm()  # a straight line cuts inside it
    assert torch.allclose(latent.slerp(a, 2 * a, 3), latent.lerp(a, 2 * a, 3))  # parallel → lerp


def test_interpolation_and_sampling() -> None:
    held = latent.heldout()
    frames = latent.interpolate(held.digits[:1], held.digits[-1:], 6)
    assert frames.shape == (6, 1, 28, 28)
    assert torch.allclose(frames[0], latent.reconstruct(held.digits[:1])[0][0], atol=1e-5)
    gan = latent.gan_interpolate(1, 2, 5)
    assert gan.shape == (5, 1, 28, 28)
    assert torch.allclose(gan[0], latent.sample_gan(1, 1)[0], atol=1e-5)
    assert torch.equal(latent.sample_vae(4, seed=9), latent.sample_vae(4, seed=9))
    assert not torch.equal(latent.sample_gan(4, seed=1), latent.sample_gan(4, seed=2))


@pytest.mark.parametrize("call, expected", [
    (lambda: latent.encode(torch.rand(2, 28, 28)), "expected shape (N, 1, 28, 28), got (2, 28, 28)"),
    (lambda: latent.encode(torch.rand(1, 1, 28, 28).double()), "expected dtype float32, got torch.float64"),
    (lambda: latent.encode(torch.rand(1, 1, 28, 28) * 255), "expected values in [0, 1]"),
    (lambda: latent.decode(float("nan"), 0.0), "expected finite coordinates"),
    (lambda: latent.decode("a", 0.0), "expected two numbers"),
    (lambda: latent.interpolate(torch.rand(1, 1, 28, 28), torch.rand(1, 1, 28, 28), 1),
     "frames: expected an integer in [2, 60], got 1"),
    (lambda: latent.decode(0.0, 0.0, latent.GAN_ID), "expected an autoencoder"),
    (lambda: latent.generate(torch.randn(2, 5)), "expected a float tensor of shape (N, 32), got (2, 5)"),
    (lambda: latent.loaded_module("sr/bicubic"), "expected a latent-explorer model"),
    (lambda: latent.prepare_drawing(torch.ones(1, 3, 50, 50)), "the drawing is empty"),
])
def test_errors_say_expected_and_given(call, expected: str) -> None:
    with pytest.raises(InvalidInputError, match=None) as info:
        call()
    assert expected in str(info.value)


def test_unknown_latent_model() -> None:
    with pytest.raises(UnknownModelError):
        latent.decode(0, 0, "latent/nope")


# --- Sketch preprocessing -----------------------------------------------------------------------------------------


def _drawn_one(mode: str = "white") -> Image.Image:
    """A hand-drawn-looking "1": a slightly slanted stroke with a small flag, on a 400×400 canvas."""
    if mode == "transparent":
        im = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
        ink = (20, 20, 20, 255)
    else:
        im = Image.new("RGB", (400, 400), "white" if mode == "white" else "black")
        ink = "black" if mode == "white" else "white"
    d = ImageDraw.Draw(im)
    d.line([(215, 60), (185, 330)], fill=ink, width=16)
    d.line([(215, 60), (175, 110)], fill=ink, width=14)
    return im


@pytest.mark.parametrize("mode", ["white", "black", "transparent"])
def test_sketch_preprocessing_centres_a_drawn_one(mode: str) -> None:
    image = imageio.open_image(_drawn_one(mode))
    digit = latent.prepare_drawing(image.rgb, image.alpha)
    assert digit.shape == (1, 1, 28, 28) and digit.dtype == torch.float32
    assert digit.max() == pytest.approx(1.0) and digit.min() >= 0
    rows = torch.nonzero(digit[0, 0].amax(1) > 0.1).flatten()
    assert 19 <= rows[-1] - rows[0] + 1 <= 21  # longer side scaled to 20 px
    mass = digit[0, 0]
    idx = torch.arange(28, dtype=torch.float32)
    cy, cx = (mass.sum(1) * idx).sum() / mass.sum(), (mass.sum(0) * idx).sum() / mass.sum()
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0
    labels, conf = latent.classify(digit)
    assert labels.item() == 1 and conf.item() > 0.5


def test_sketch_polarities_agree() -> None:
    out = [latent.prepare_drawing(*(lambda i: (i.rgb, i.alpha))(imageio.open_image(_drawn_one(m))))
           for m in ("white", "black")]
    assert torch.allclose(out[0], out[1], atol=0.02)


def test_thin_strokes_are_thickened() -> None:
    im = Image.new("RGB", (400, 400), "white")
    ImageDraw.Draw(im).line([(200, 40), (200, 360)], fill="black", width=2)
    digit = latent.prepare_drawing(imageio.open_image(im).rgb)
    assert (digit[0, 0] > 0.5).sum(1).max() >= 2  # at least 2 px wide at 28×28, like MNIST's pen


# --- Pictures -----------------------------------------------------------------------------------------------------


def test_map_view_round_trip_and_grid_alignment() -> None:
    view = latent_plot.MapView.for_grid(2.5)
    for x, y in [(0.0, 0.0), (-2.5, 1.2), (2.6, -2.6)]:
        assert view.to_latent(*view.to_pixel(x, y)) == pytest.approx((x, y), abs=1e-9)
    gview = latent_plot.MapView.for_grid(2.5, on_map=False)
    grid = latent.decoded_grid(latent.VAE_ID)
    # the centre pixel of cell (row 3, col 11) is that cell's latent point, in both pictures
    px, py = 11 * 28 + 14, 3 * 28 + 14
    assert gview.to_latent(px, py) == pytest.approx(tuple(grid.points[3 * 15 + 11].tolist()), abs=1e-6)
    assert view.to_latent(view.left + px, view.top + py) == pytest.approx(gview.to_latent(px, py))
    with pytest.raises(InvalidInputError, match="inside the plot area"):
        view.to_latent(2, 2)


def test_rendered_map_marker_and_gif(tmp_path: Path) -> None:
    lmap = latent.latent_map(latent.VAE_ID)
    plain = np.asarray(latent_plot.render_map(lmap))
    marked = np.asarray(latent_plot.render_map(lmap, marker=(1.0, 1.0)))
    assert plain.shape == marked.shape == (10 + 420 + 52, 34 + 420 + 10, 3)
    view = latent_plot.MapView.for_grid(lmap.extent)
    px, py = (round(v) for v in view.to_pixel(1.0, 1.0))
    assert (marked[py - 20:py + 21, px - 20:px + 21] != plain[py - 20:py + 21, px - 20:px + 21]).any()
    assert (marked[py, px - 16:px + 17] == 0).all()  # the black cross
    colours = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in latent_plot.CLASS_COLOURS}
    seen = {tuple(p) for p in plain.reshape(-1, 3)}
    assert colours <= seen  # every class colour is plotted
    gif = latent_plot.save_gif(latent.sample_gan(5, 0), tmp_path / "walk.gif")
    with Image.open(gif) as im:
        assert im.is_animated and im.n_frames == 8 and im.size == (168, 168)


# --- The app's API ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.mark.app
def test_api_latent_decode(client) -> None:
    path = client.predict(0.4, -1.1, api_name="/latent_decode")
    got = imageio.open_image(path).rgb
    expected = imageio.pil_to_tensor(latent_plot.digit_image(latent.decode(0.4, -1.1, latent.VAE_ID), 224))
    assert got.shape == (1, 3, 224, 224)
    assert torch.equal(got, expected)


@pytest.mark.app
def test_api_latent_interpolate(client, tmp_path: Path) -> None:
    from gradio_client import handle_file

    held = latent.heldout()
    a_idx, b_idx = int(torch.nonzero(held.labels == 0)[0]), int(torch.nonzero(held.labels == 7)[0])
    paths = []
    for i in (a_idx, b_idx):
        p = tmp_path / f"d{i}.png"
        latent_plot.digit_image(held.digits[i:i + 1], 28).save(p)
        paths.append(p)
    frames, gif = client.predict(handle_file(str(paths[0])), handle_file(str(paths[1])), 7,
                                 api_name="/latent_interpolate")
    assert len(frames) == 7 and all(f["caption"] for f in frames)
    first = imageio.open_image(frames[0]["image"]).rgb
    a = latent.prepare_drawing(imageio.open_image(paths[0]).rgb)
    expected = latent.interpolate(a, latent.prepare_drawing(imageio.open_image(paths[1]).rgb), 7)
    assert torch.equal(first, imageio.pil_to_tensor(latent_plot.digit_image(expected[:1], 112)))
    with Image.open(gif) as im:
        assert im.is_animated and im.n_frames == 12


@pytest.mark.app
def test_api_errors_are_clear(client) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="sketchpad is empty"):
        client.predict(None, latent.VAE_ID, api_name="/latent_encode_sketch")
    with pytest.raises(AppError, match="Digit B is missing"):
        client.predict(handle_file(client.predict(3, 8, 0, api_name="/latent_heldout_pair")[0]), None, 5,
                       api_name="/latent_interpolate")


def test_large_upload_is_reduced_before_framing() -> None:
    im = Image.new("RGB", (1600, 1600), "white")
    d = ImageDraw.Draw(im)
    d.line([(860, 240), (740, 1320)], fill="black", width=64)
    d.line([(860, 240), (700, 440)], fill="black", width=56)
    digit = latent.prepare_drawing(imageio.open_image(im).rgb)
    small = latent.prepare_drawing(imageio.open_image(_drawn_one("white")).rgb)
    assert digit.shape == (1, 1, 28, 28)
    assert (digit - small).abs().mean() < 0.05  # the same drawing at 4× the size frames the same way
    assert latent.classify(digit)[0].item() == 1
