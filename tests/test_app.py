"""End-to-end tests of the Gradio app's ``/sr`` API through gradio_client, against the launched app."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

import app
from enhancers import imageio, metrics, sr

pytestmark = pytest.mark.app

EXIF_MAKE = 0x010F


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


def _sr(client: Client, path: Path, **kwargs):
    return client.predict(handle_file(str(path)), api_name="/sr", **kwargs)


def _full_res(result) -> Path:
    _, full, _ = result
    return Path(full)


def _before_after(result) -> tuple[Path, Path]:
    pair, _, _ = result
    assert len(pair) == 2
    before, after = pair
    return Path(before), Path(after)


@pytest.fixture(scope="module")
def default_result(client, heldout_lr):
    return _sr(client, heldout_lr.lr_path)


def test_default_model_beats_bicubic_on_heldout_photo(client, heldout_lr, default_result):
    assert sr.default_model(2) == "sr/compact-x2"
    lr = imageio.open_image(heldout_lr.lr_path)
    full = _full_res(default_result)
    out = imageio.open_image(full)
    assert (out.width, out.height) == (2 * lr.width, 2 * lr.height)
    assert out.rgb.shape == heldout_lr.hr.shape

    bicubic = imageio.open_image(_full_res(_sr(client, heldout_lr.lr_path, model_id="sr/bicubic"))).rgb
    local_bicubic = imageio.resize(lr.rgb, (2 * lr.width, 2 * lr.height), "bicubic")
    psnr_bicubic = metrics.psnr_y(bicubic, heldout_lr.hr, shave=2)
    assert psnr_bicubic == pytest.approx(metrics.psnr_y(local_bicubic, heldout_lr.hr, shave=2), abs=0.01)

    psnr_model = metrics.psnr_y(out.rgb, heldout_lr.hr, shave=2)
    assert psnr_model > psnr_bicubic + 1.0, f"{sr.default_model(2)}: {psnr_model:.2f} dB vs bicubic {psnr_bicubic:.2f} dB"


def test_stats_describe_the_run(default_result, heldout_lr):
    _, _, stats = default_result
    lr = Image.open(heldout_lr.lr_path)
    assert f"**Input** {lr.width}×{lr.height}" in stats
    assert f"**Output** {2 * lr.width}×{2 * lr.height} (×2)" in stats
    assert "sr/compact-x2" in stats
    from enhancers.loader import load_model

    assert f"**Precision** {load_model('sr/compact-x2', precision='auto').precision}" in stats


def test_slider_before_matches_after_size(default_result):
    before, after = _before_after(default_result)
    full = _full_res(default_result)
    with Image.open(before) as b, Image.open(after) as a, Image.open(full) as f:
        assert b.format == "PNG" and a.format == "PNG"
        assert b.size == a.size == f.size
        assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(f.convert("RGB")))
        assert not np.array_equal(np.asarray(b.convert("RGB")), np.asarray(a.convert("RGB")))


def test_scale_4_with_lanczos(client, heldout_lr):
    result = _sr(client, heldout_lr.lr_path, model_id="sr/lanczos", scale=4)
    with Image.open(heldout_lr.lr_path) as lr, Image.open(_full_res(result)) as out:
        assert out.size == (4 * lr.width, 4 * lr.height)
    assert "(×4)" in result[2] and "sr/lanczos" in result[2]


def test_x4_self_ensemble_default_and_switch(client, heldout_lr):
    default = _sr(client, heldout_lr.lr_path, model_id="sr/compact-x4", scale=4)
    single = _sr(client, heldout_lr.lr_path, model_id="sr/compact-x4", scale=4, self_ensemble="off")
    assert "self-ensemble of 8 passes" in default[2] and "self-ensemble" not in single[2]
    a, b = (np.asarray(Image.open(_full_res(r)).convert("RGB")) for r in (default, single))
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_rgba_upload_keeps_alpha_and_exif(client, tmp_path):
    y, x = np.mgrid[0:40, 0:56]
    rgb = np.stack([x * 4, y * 6, (x + y) * 2], axis=2).astype(np.uint8)
    alpha = np.where(x < 28, 255, 0).astype(np.uint8)
    im = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    exif = Image.Exif()
    exif[EXIF_MAKE] = "EnhancerTestCam"
    path = tmp_path / "transparent.png"
    im.save(path, exif=exif.tobytes())

    result = _sr(client, path, model_id="sr/lanczos", scale=2)
    with Image.open(_full_res(result)) as out:
        assert out.mode == "RGBA"
        assert out.size == (112, 80)
        out_alpha = np.asarray(out.getchannel("A"))
        assert out_alpha[:, :50].min() == 255
        assert out_alpha[:, 62:].max() == 0
        assert out.getexif().get(EXIF_MAKE) == "EnhancerTestCam"
    assert "alpha kept" in result[2] and "EXIF kept" in result[2]


def test_non_image_upload_gives_clear_error(client, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are notes, not pixels\n")
    with pytest.raises(AppError, match="not a readable image"):
        _sr(client, path, model_id="sr/bicubic")


def test_api_lists_sr_with_image_first_and_optional_rest(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert "/sr" in api["named_endpoints"]
    params = api["named_endpoints"]["/sr"]["parameters"]
    assert [p["parameter_name"] for p in params] == ["image_path", "model_id", "scale", "tile", "self_ensemble",
                                                     "precision"]
    assert params[0]["component"] == "Image"
    assert params[0]["parameter_has_default"] is False
    defaults = {p["parameter_name"]: p["parameter_default"] for p in params[1:] if p["parameter_has_default"]}
    assert defaults == {"model_id": "sr/compact-x2", "scale": 2, "tile": 0, "self_ensemble": "model default",
                        "precision": "auto"}


def test_outputs_older_than_max_age_are_removed(client, heldout_lr):
    app.OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    stale = Path(tempfile.mkdtemp(dir=app.OUTPUT_DIR)) / "stale_x2_lanczos.png"
    fresh = Path(tempfile.mkdtemp(dir=app.OUTPUT_DIR)) / "fresh_x2_lanczos.png"
    for p in (stale, fresh):
        Image.new("RGB", (4, 4)).save(p)
    old = time.time() - app.OUTPUT_MAX_AGE_S - 60
    os.utime(stale, (old, old))

    result = _sr(client, heldout_lr.lr_path, model_id="sr/lanczos")
    assert _full_res(result).exists()
    assert not stale.exists() and not stale.parent.exists()
    assert fresh.exists()
    fresh.unlink()
    fresh.parent.rmdir()
