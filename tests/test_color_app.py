"""End-to-end tests of the Gradio app's ``/colorize`` API through gradio_client, against the launched app."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from enhancers import imageio
from enhancers.color_metrics import colourfulness, lightness_psnr, rgb_psnr
from enhancers.lab import gray_to_rgb, ntsc_gray
from enhancers.training.data import SKIMAGE_EVAL, prepare_hr, skimage_dir

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def heldout_colour(tmp_path_factory):
    """scikit-image's astronaut.png (never trained on) as a colour upload, and its NTSC gray version."""
    assert "astronaut.png" in SKIMAGE_EVAL
    hr = prepare_hr(skimage_dir() / "astronaut.png", crop=256)
    folder = tmp_path_factory.mktemp("color")
    colour = imageio.save_png(folder / "astronaut.png", hr)
    gray = imageio.save_png(folder / "astronaut_gray.png", gray_to_rgb(ntsc_gray(hr)))
    return hr, colour, gray


def _colorize(client: Client, path: Path, **kwargs):
    return client.predict(handle_file(str(path)), api_name="/colorize", **kwargs)


def test_gray_upload_comes_back_in_colour_with_its_lightness(client, heldout_colour):
    hr, _, gray_path = heldout_colour
    pair, full, stats, l_img, a_img, b_img = _colorize(client, gray_path)
    gray = imageio.open_image(gray_path).rgb
    out = imageio.open_image(full).rgb
    assert out.shape == gray.shape
    assert lightness_psnr(out, gray) >= 38
    assert float(colourfulness(out)[0]) > 0.3 * float(colourfulness(hr)[0])
    assert rgb_psnr(out, hr) >= rgb_psnr(gray, hr)
    before, after = pair
    with Image.open(before) as b, Image.open(after) as a:
        assert b.size == a.size == (gray.shape[-1], gray.shape[-2])
        assert np.array_equal(np.asarray(b.convert("RGB")), np.asarray(Image.open(gray_path).convert("RGB")))
    assert "color/unet" in stats and "converted to gray" not in stats
    with Image.open(l_img) as lv, Image.open(a_img) as av, Image.open(b_img) as bv:
        assert lv.size == av.size == bv.size == (256, 256)
        lv_arr = np.asarray(lv.convert("RGB")).astype(int)
        assert np.abs(lv_arr[..., 0] - lv_arr[..., 2]).max() <= 1  # L* is shown as gray
        assert np.asarray(av.convert("RGB")).std(axis=(0, 1)).max() > 1  # a* carries the predicted colour


def test_colour_upload_is_converted_to_gray_first_and_compared(client, heldout_colour):
    _, colour_path, gray_path = heldout_colour
    _, full, stats, *_ = _colorize(client, colour_path)
    _, full_from_gray, *_ = _colorize(client, gray_path)
    assert "converted to gray" in stats and "RGB PSNR" in stats and "colourfulness" in stats
    assert re.search(r"Balanced hue accuracy \*\*\d+ %\*\*", stats), stats
    # the colour photo's own colours never reach the model: same result as from its gray version (± 8-bit rounding)
    a = np.asarray(Image.open(full).convert("RGB")).astype(int)
    b = np.asarray(Image.open(full_from_gray).convert("RGB")).astype(int)
    assert np.abs(a - b).mean() < 1.5


def test_saturation_zero_gives_the_gray_photo(client, heldout_colour):
    _, _, gray_path = heldout_colour
    _, full, stats, *_ = _colorize(client, gray_path, saturation=0.0)
    out = np.asarray(Image.open(full).convert("RGB")).astype(int)
    assert np.abs(out - np.asarray(Image.open(gray_path).convert("RGB")).astype(int)).max() <= 1
    assert "**Saturation** 0.00" in stats


def test_hub_model_offline_gives_clear_error(client, heldout_colour, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AppError, match=r"color/ddcolor.*Models that work offline: color/unet"):
        _colorize(client, heldout_colour[2], model_id="color/ddcolor")


def test_non_image_upload_gives_clear_error(client, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not pixels\n")
    with pytest.raises(AppError, match="not a readable image"):
        _colorize(client, path)


def test_model_card_mentions_the_ddcolor_license_caveat(client):
    card = client.predict("color/ddcolor-tiny", api_name="/colorize_model_card")
    assert "non-commercial" in card and "spandrel_extra_arches" in card
    assert "non-commercial" not in client.predict("color/unet", api_name="/colorize_model_card")


def test_colour_class_model_shows_its_temperature_and_lower_t_is_more_vivid(client, heldout_colour):
    hr, _, gray_path = heldout_colour
    assert client.predict("color/classes", api_name="/colorize_temperature_control")["visible"] is True
    assert client.predict("color/unet", api_name="/colorize_temperature_control")["visible"] is False
    results = {}
    for t in (1.0, 0.2):
        _, full, stats, *_ = _colorize(client, gray_path, model_id="color/classes", temperature=t, ensemble=False)
        assert "color/classes" in stats and f"**T** {t:.2f}" in stats
        out = imageio.open_image(full).rgb
        assert lightness_psnr(out, imageio.open_image(gray_path).rgb) >= 38
        results[t] = float(colourfulness(out)[0])
    # sharpening the predicted distribution moves each pixel towards its most likely colour: more chroma
    assert results[0.2] > results[1.0] > 0.1 * float(colourfulness(hr)[0])
    _, _, stats, *_ = _colorize(client, gray_path, model_id="color/unet", temperature=0.2, ensemble=False)
    assert "**T**" not in stats  # a regression model has no temperature
