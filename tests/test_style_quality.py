"""Style transfer quality on held-out photos (never trained on): the output's colour statistics move
towards the style image, and the photo's structure stays recognisable (SSIM of luminance)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from enhancers import imageio, style
from enhancers.registry import list_specs
from enhancers.training.data import SKIMAGE_EVAL, skimage_dir, split

ROOT = Path(__file__).resolve().parents[1]
STYLES = ROOT / "examples" / "styles"
BUNDLED = [s.id for s in list_specs(style.TASK) if s.source_kind == "bundled"]


def _colour_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Distance between the L*a*b* mean/std vectors of two images."""
    return float((style.colour_stats(a) - style.colour_stats(b)).norm())


def _ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(style.luminance(a)[0, 0].numpy(), style.luminance(b)[0, 0].numpy(),
                                       data_range=1.0))


def _ssim_unrelated(photo: torch.Tensor) -> float:
    """SSIM of the photo to an unrelated held-out photo of the same size: what "structure lost" scores."""
    other = imageio.open_image(skimage_dir() / "astronaut.png").rgb
    other = imageio.resize(other, (photo.shape[-1], photo.shape[-2]), "lanczos")
    return _ssim(other, photo)


@pytest.fixture(scope="module")
def photos() -> list[torch.Tensor]:
    """Two held-out photos, 256 px on the longer side."""
    assert {"coffee.png", "chelsea.png"} <= set(SKIMAGE_EVAL)
    held = {p.name for p in split().heldout}
    assert {"coffee.png", "chelsea.png"} <= held
    return [style.resize_long_side(imageio.open_image(skimage_dir() / n).rgb, 256) for n in ("coffee.png",
                                                                                           "chelsea.png")]


@pytest.mark.parametrize("model_id", BUNDLED)
def test_bundled_fast_style_moves_colours_and_keeps_structure(photos, model_id) -> None:
    style_rgb = imageio.open_image(STYLES / f"{model_id.split('/')[1]}.jpg").rgb
    for photo in photos:
        out = style.fast_stylize(photo, model_id)
        assert out.shape == photo.shape and torch.isfinite(out).all()
        before, after = _colour_distance(photo, style_rgb), _colour_distance(out, style_rgb)
        # The bundled networks had minutes of a shared CPU: their palettes move only part of the way
        # (rhythm and truchet ~10 %, elephants ~2 %: see weights/style-*.md), but they must move towards it.
        assert after < before, f"{model_id}: colour distance {before:.1f} → {after:.1f}"
        ssim, floor = _ssim(out, photo), _ssim_unrelated(photo)
        assert ssim > max(0.3, floor + 0.2), f"{model_id}: SSIM to photo {ssim:.3f} (unrelated photo {floor:.3f})"


def test_gatys_hybrid_moves_colours_and_keeps_structure(photos) -> None:
    photo = style.resize_long_side(photos[0], 128)
    style_rgb = imageio.open_image(STYLES / "rhythm.jpg").rgb
    *_, last = style.gatys(photo, style_rgb, style.GatysConfig(steps=30, size=128, every=30))
    before, after = _colour_distance(photo, style_rgb), _colour_distance(last.image, style_rgb)
    # 30 steps from the photo: the palette has only started to move (56.7 → 52.6 when written).
    assert after < 0.95 * before, f"colour distance {before:.1f} → {after:.1f}"
    ssim, floor = _ssim(last.image, photo), _ssim_unrelated(photo)
    assert ssim > max(0.2, floor + 0.1), f"SSIM to photo {ssim:.3f} (unrelated photo {floor:.3f})"
    assert last.history.style[-1] < 0.7 * last.history.style[0]
