"""End-to-end tests of the Gradio app's Enhance tab (``/enhance``, ``/enhance_classroom`` and its control events)
through gradio_client, against the launched app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from enhancers import degrade, enhance, faces, imageio
from enhancers.errors import InvalidInputError
from enhancers.training.data import SKIMAGE_EVAL, prepare_hr, skimage_dir

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def coffee() -> torch.Tensor:
    """scikit-image's coffee (held out from training), 192×128 px."""
    assert "coffee.png" in SKIMAGE_EVAL
    return prepare_hr(skimage_dir() / "coffee.png", crop=256)[..., 64:192, 32:224]


@pytest.fixture(scope="module")
def small_rgba(coffee, tmp_path_factory) -> Path:
    """The coffee photo at 96×64 with a left-opaque, right-transparent alpha channel, as a PNG upload."""
    rgb = imageio.resize(coffee, (96, 64), "lanczos")
    alpha = torch.zeros(1, 1, 64, 96)
    alpha[..., :40] = 1.0
    return imageio.save_png(tmp_path_factory.mktemp("enhance") / "coffee_rgba.png", rgb, alpha)


@pytest.fixture(scope="module")
def face_photo(tmp_path_factory) -> Path:
    """scikit-image's astronaut (held out), 128×128 px around Eileen Collins' face, as a PNG upload."""
    assert "astronaut.png" in SKIMAGE_EVAL
    face = prepare_hr(skimage_dir() / "astronaut.png", crop=256)[..., 0:128, 48:176]
    return imageio.save_png(tmp_path_factory.mktemp("faces") / "face.png", face)


def _enhance(client: Client, path: Path, **kwargs):
    return client.predict(handle_file(str(path)), api_name="/enhance", **kwargs)


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.float64)


def test_default_run_is_x2_png_with_alpha_kept(client, small_rgba):
    (before, after), full, stats, preview, curves = _enhance(client, small_rgba)
    assert Path(full).suffix == ".png" and after == full
    with Image.open(full) as out:
        assert out.mode == "RGBA" and out.size == (192, 128)
        alpha = np.asarray(out.getchannel("A"))
        assert alpha[:, :72].min() == 255 and alpha[:, 88:].max() == 0
    with Image.open(before) as b:
        assert b.size == (192, 128)
    assert "96×64 → **Output** 192×128" in stats
    assert f"**Model** {enhance.DEFAULT_MODEL}" in stats and "**α** 1.00 (fidelity)" in stats
    assert "generator" in stats and "alpha kept" in stats
    assert preview is None and curves["visible"] is False, "no auto-tone, so no curves"


def test_same_size_and_the_two_ends_of_the_slider(client, small_rgba):
    _, same, stats, _, _ = _enhance(client, small_rgba, scale=1)
    assert _pixels(same).shape == (64, 96, 3) and "96×64 → **Output** 96×64" in stats
    assert "**Model** enhance/distilled-x1" in stats, "the same size should come from the same-size generator"
    (_, full0, stats0, _, _), (_, full1, stats1, _, _) = (_enhance(client, small_rgba, fidelity=a) for a in (0.0, 1.0))
    assert "**α** 0.00" in stats0 and "**α** 1.00" in stats1
    diff = np.abs(_pixels(full0) - _pixels(full1))
    assert diff.shape == (128, 192, 3)
    assert diff.mean() > 0.25, "α = 0 (L1 stage) and α = 1 (perceptual stage) should give different photos"


def test_default_auto_tone_leaves_a_good_photo_and_full_correction_does_not(client, coffee, tmp_path):
    path = imageio.save_png(tmp_path / "good.png", coffee[..., :64, :96])
    plain = _enhance(client, path, scale=1)
    cautious = _enhance(client, path, scale=1, tone=True)
    full = _enhance(client, path, scale=1, tone=True, tone_model="tone/curves")
    # the untouched coffee: the default (cautious) curves give it back, full correction changes it
    assert np.abs(_pixels(cautious[1]) - _pixels(plain[1])).mean() < 0.5
    assert np.abs(_pixels(full[1]) - _pixels(plain[1])).mean() > 1
    assert "auto-tone on (tone/curves)" in full[2] and "auto-tone on" in cautious[2]
    with pytest.raises(AppError):  # not one of the radio's choices
        _enhance(client, path, scale=1, tone=True, tone_model="enhance/compact-x2")


def test_declined_auto_tone_says_so_and_names_full_correction(client, coffee, tmp_path):
    """The whole coffee one stop under and warm: the cautious default leaves it, and the stats line says which
    model corrects it anyway; with that model it is corrected."""
    path = imageio.save_png(tmp_path / "dark.png", degrade.photometric(coffee, degrade.DARK_WARM_CAST))
    plain = _enhance(client, path, scale=1)
    left = _enhance(client, path, scale=1, tone=True)
    full = _enhance(client, path, scale=1, tone=True, tone_model="tone/curves")
    assert ("auto-tone on — lighting left as it was (every curve within 1 level of unchanged; tone/curves corrects "
            "it anyway)") in left[2]
    assert np.abs(_pixels(left[1]) - _pixels(plain[1])).mean() < 0.5
    assert _pixels(full[1]).mean() > _pixels(plain[1]).mean() + 10 and "left as it was" not in full[2]


def test_auto_tone_brightens_a_dark_photo(client, coffee, tmp_path):
    dark = degrade.photometric(coffee[..., :64, :96], degrade.DARK_WARM_CAST)
    path = imageio.save_png(tmp_path / "dark.png", dark)
    plain = _enhance(client, path, scale=1)
    toned = _enhance(client, path, scale=1, tone=True, tone_model="tone/curves")
    assert _pixels(toned[1]).mean() > _pixels(plain[1]).mean() + 15
    # the curves plot: each channel's curve lifts the mid-tones of the dark photo above the straight line
    frame = toned[4]["value"]
    assert toned[4]["visible"] is True and frame["columns"] == ["input level", "output level", "channel"]
    series = {}
    for x, y, channel in frame["data"]:
        series.setdefault(channel, {})[x] = y
    assert set(series) == {"unchanged", "red", "green", "blue"} and series["unchanged"][127.5] == 127.5
    assert all(series[c][127.5] > 127.5 + 20 for c in ("red", "green", "blue")), series
    assert "auto-tone" in toned[2] and "auto-tone" not in plain[2]
    half = _enhance(client, path, scale=1, tone=True, tone_strength=0.5, tone_model="tone/curves")
    assert _pixels(plain[1]).mean() + 5 < _pixels(half[1]).mean() < _pixels(toned[1]).mean() - 5
    assert "auto-tone on (tone/curves, strength 0.50)" in half[2] and "strength" not in toned[2]
    assert all(u["visible"] for u in client.predict(True, api_name="/enhance_tone_controls"))
    assert not any(u["visible"] for u in client.predict(False, api_name="/enhance_tone_controls"))
    with pytest.raises(AppError, match="greater than maximum value 1"):  # Gradio checks the slider range
        _enhance(client, path, scale=1, tone=True, tone_strength=1.5)


def test_corrupt_upload_gives_a_clear_error(client, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n but then the data stops")
    with pytest.raises(AppError, match="not a readable image") as e:
        _enhance(client, path)
    assert "Traceback" not in str(e.value)


def test_face_model_offline_names_the_download(client, small_rgba, face_photo, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, _, stats, preview, _ = _enhance(client, small_rgba, scale=1, face_model="face/gfpgan-v1.4")
    assert "**Faces** none found" in stats and preview is None, "no face, so nothing to download"
    with pytest.raises(AppError, match=r"face/gfpgan-v1\.4.*offline.*one-time download of 349 MB"):
        _enhance(client, face_photo, scale=1, face_model="face/gfpgan-v1.4")


def test_restored_faces_are_boxed_in_the_preview(client, face_photo, monkeypatch):
    """The UI side of face restoration, with the Hub restorer replaced by one that returns the photo unchanged
    and the faces MTCNN really finds (the app runs in this process)."""
    calls = []

    def restore_unchanged(rgb, model_id, *, only_largest=False, fidelity=None, progress=None):
        calls.append((model_id, only_largest, fidelity))
        found = faces.detect_faces(rgb)[:1 if only_largest else None]
        return faces.FaceResult(rgb.clone(), tuple(found))

    monkeypatch.setattr(faces, "restore_faces", restore_unchanged)
    _, _, stats, preview, _ = _enhance(client, face_photo, scale=2, face_model="face/codeformer",
                                    only_largest_face=True, face_fidelity=0.7)
    assert calls == [("face/codeformer", True, 0.7)]
    assert "**Faces** 1 restored (largest only) with CodeFormer" in stats
    drawn = np.abs(_pixels(preview) - _pixels(str(face_photo))).max(axis=2) > 40
    ys, xs = np.nonzero(drawn)
    assert drawn.shape == (128, 128) and drawn.sum() > 100, "the face box is drawn over the input"
    assert 30 < xs.min() < 50 and 80 < xs.max() < 95 and 20 < ys.min() < 40, "the box sits on the face"


def test_classroom_gan_stage_is_perceptually_closer_than_bicubic(client, coffee, tmp_path):
    path = imageio.save_png(tmp_path / "clean.png", coffee)
    gallery, table, stats = client.predict(handle_file(str(path)), api_name="/enhance_classroom")
    assert len(gallery) == 3
    for item in gallery:
        with Image.open(item["image"]) as im:
            assert im.size == (192, 128)
    rows = {row[0]: row[1:] for row in table["data"]}
    assert list(rows) == ["Bicubic", "PSNR stage (α = 0)", "GAN stage (α = 1)"]
    lpips = {name: values[2] for name, values in rows.items()}
    assert lpips["GAN stage (α = 1)"] < lpips["Bicubic"], rows
    assert rows["PSNR stage (α = 0)"][0] > rows["Bicubic"][0], rows  # PSNR, dB
    assert all(v is not None for values in rows.values() for v in values), "NIQE runs from 96 px per side"
    assert "192×128" in stats and "96×64" in stats
    assert "NIQE** is only a rough guide" in stats, "a 192×128 photo holds only two 96-px NIQE blocks"


def test_classroom_niqe_note_only_on_small_photos(client):
    with Image.open(skimage_dir() / "coffee.png") as im:  # 600×400: 16 NIQE blocks of 96 px
        assert min(im.size) >= 384
    _, table, stats = client.predict(handle_file(str(skimage_dir() / "coffee.png")), api_name="/enhance_classroom")
    assert "600×400" in stats and "rough guide" not in stats
    assert all(row[4] is not None for row in table["data"])


def test_classroom_comparison_needs_the_fidelity_slider_and_32_px(coffee):
    with pytest.raises(InvalidInputError, match="denoise_strength"):
        enhance.compare_for_classroom(coffee, "enhance/realesr-general-x4v3")
    with pytest.raises(InvalidInputError, match="at least 32 px"):
        enhance.compare_for_classroom(coffee[..., :31, :64])  # 28 rows once cropped to a multiple of 4


def test_model_controls_follow_the_dropdown(client):
    card, slider = client.predict("enhance/realesr-general-x4v3", api_name="/enhance_model_controls")
    assert "Real-ESRGAN general v3" in card
    assert slider["label"].startswith("Denoise strength") and slider["value"] == 0.5 and slider["visible"]
    _, slider = client.predict("enhance/realesrgan-x4plus", api_name="/enhance_model_controls")
    assert slider["visible"] is False
    # the card names the model that runs at the chosen output size: same size hands over to compact-x1
    assert "Compact GAN, same size" in client.predict("enhance/compact-x2", 1, api_name="/enhance_model_card")
    assert "Compact GAN ×2" in client.predict("enhance/compact-x2", 2, api_name="/enhance_model_card")
    card, _ = client.predict("enhance/compact-x2", 1, api_name="/enhance_model_controls")
    assert "Compact GAN, same size" in card
    card, largest, w, preview = client.predict("face/codeformer", api_name="/enhance_face_controls")
    assert "NON-COMMERCIAL" in card["value"] and largest["visible"] and w["visible"] and preview["visible"]
    _, _, w, _ = client.predict("face/gfpgan-v1.4", api_name="/enhance_face_controls")
    assert w["visible"] is False, "only CodeFormer takes a fidelity weight w"
    assert not any(u["visible"] for u in client.predict("none", api_name="/enhance_face_controls"))


def test_api_lists_enhance_with_image_first_and_optional_rest(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/enhance", "/enhance_classroom", "/enhance_model_controls", "/enhance_model_card",
            "/enhance_face_controls", "/enhance_tone_controls"} <= set(api)
    params = api["/enhance"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image_path", "model_id", "scale", "fidelity", "tone",
                                                      "tone_strength", "tone_model", "face_model",
                                                      "only_largest_face",
                                                      "face_fidelity", "tile"]
    assert params[0]["parameter_has_default"] is False
    assert all(p["parameter_has_default"] for p in params[1:])
    assert params[1]["parameter_default"] == enhance.DEFAULT_MODEL and params[2]["parameter_default"] == 2


def test_tone_curves_frame_has_each_channel_and_the_straight_line():
    from ui.enhance import tone_curves_frame

    curves = torch.stack([torch.linspace(0, 1, 5), torch.linspace(0, 1, 5).sqrt(), torch.zeros(5)])
    frame = tone_curves_frame(curves)
    assert list(frame.columns) == ["input level", "output level", "channel"] and len(frame) == 20
    by = {c: dict(zip(g["input level"], g["output level"])) for c, g in frame.groupby("channel")}
    assert by["unchanged"] == by["red"] == {0.0: 0.0, 63.8: 63.8, 127.5: 127.5, 191.2: 191.2, 255.0: 255.0}
    assert by["green"][63.8] == 127.5 and set(by["blue"].values()) == {0.0}
    assert tone_curves_frame(None) is None
