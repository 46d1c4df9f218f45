"""End-to-end tests of the app's ``/denoise`` and ``/dejpeg`` APIs through gradio_client, on a held-out photo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from enhancers import imageio
from enhancers.degrade import add_gaussian_noise
from enhancers.metrics import psnr_b, psnr_rgb
from enhancers.training.data import prepare_hr, skimage_dir

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path | torch.Tensor]:
    """chelsea.png (held out): clean, with Gaussian noise σ = 25 (PNG), and saved as a q = 10 JPEG."""
    root = tmp_path_factory.mktemp("restore")
    clean = prepare_hr(skimage_dir() / "chelsea.png", crop=192, multiple=8)
    imageio.save_png(root / "clean.png", clean)
    imageio.save_png(root / "noisy.png", add_gaussian_noise(clean, 25, seed=5))
    imageio.tensor_to_pil(clean).save(root / "blocky.jpg", format="JPEG", quality=10)
    return {"clean": clean, "clean_path": root / "clean.png", "noisy": root / "noisy.png",
            "jpeg": root / "blocky.jpg"}


def test_denoise_blind_restores_held_out_photo(client, photos):
    pair, full, stats, gallery = client.predict(handle_file(str(photos["noisy"])), api_name="/denoise")
    out = imageio.open_image(full).rgb
    noisy = imageio.open_image(photos["noisy"]).rgb
    assert psnr_rgb(out, photos["clean"]) > psnr_rgb(noisy, photos["clean"]) + 6
    assert "σ estimated" in stats and "denoise/unet" in stats
    assert Path(pair[0]).name.endswith("_before.png") and gallery == []


def test_denoise_classroom_scores_three_images(client, photos):
    _, _, stats, gallery = client.predict(handle_file(str(photos["clean_path"])), "denoise/unet", 30, False, True,
                                          api_name="/denoise")
    assert len(gallery) == 3
    captions = [g["caption"] for g in gallery]
    assert captions[0].startswith("Noisy (σ = 30)") and captions[1].startswith("Non-local means")
    psnrs = [float(c.split("PSNR ")[1].split(" dB")[0]) for c in captions]
    assert psnrs[2] > psnrs[1] > psnrs[0]
    assert "Classroom" in stats


def test_dejpeg_auto_reports_qf_and_restores(client, photos):
    pair, full, stats = client.predict(handle_file(str(photos["jpeg"])), api_name="/dejpeg")
    out = imageio.open_image(full).rgb
    jpg = imageio.open_image(photos["jpeg"]).rgb
    # held-out means over 11 photos: +1.1 dB PSNR, +2.7 dB PSNR-B (weights/dejpeg-fbcnn-lite.md)
    assert psnr_rgb(out, photos["clean"]) > psnr_rgb(jpg, photos["clean"]) + 0.5
    assert psnr_b(out, photos["clean"]) > psnr_b(jpg, photos["clean"]) + 1.0
    assert "**QF predicted**" in stats and "**File header** quality 10" in stats
    assert "**QF in the pixels' DCT grid** 10" in stats and "**QF used** 10 (found in the DCT coefficients)" in stats


def test_dejpeg_override_and_classroom_table(client, photos):
    _, _, stats = client.predict(handle_file(str(photos["jpeg"])), "dejpeg/fbcnn-lite", False, 20,
                                 api_name="/dejpeg")
    assert "**QF used** 20 (set by you)" in stats
    _, full, stats = client.predict(handle_file(str(photos["clean_path"])), "dejpeg/fbcnn-lite", True, 30, True, 10,
                                    api_name="/dejpeg")
    assert "| JPEG q = 10 |" in stats and "PSNR-B" in stats
    assert Image.open(full).size == (photos["clean"].shape[-1], photos["clean"].shape[-2])


def test_restore_errors_are_clear(client, photos, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not pixels")
    with pytest.raises(AppError, match="not a readable image"):
        client.predict(handle_file(str(bad)), api_name="/dejpeg")
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict(handle_file(str(photos["noisy"])), "sr/bicubic", api_name="/denoise")
    with pytest.raises(AppError, match="greater than maximum value 75"):
        client.predict(handle_file(str(photos["noisy"])), "denoise/unet", 80, False, api_name="/denoise")
