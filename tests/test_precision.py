"""CPU precision policy (enhancers.precision): bf16 vs fp32 on a held-out photo, ``auto``, the CLI's report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from skimage import data

from enhancers import cli, colorize, dejpeg, denoise, enhance, precision, sr, style
from enhancers.degrade import add_gaussian_noise, jpeg
from enhancers.errors import InvalidInputError
from enhancers.imageio import numpy_to_tensor, save_png
from enhancers.loader import is_ready, load_model
from enhancers.registry import get_spec, list_specs


@pytest.fixture(autouse=True)
def on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCERS_DEVICE", "cpu")
    monkeypatch.delenv(precision.ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def coffee() -> torch.Tensor:
    """A 96 × 128 crop of scikit-image's coffee (held out from training), RGB float32 in [0, 1]."""
    return numpy_to_tensor(data.coffee()[150:246, 220:348])


def _levels(t: torch.Tensor) -> torch.Tensor:
    return t.float().clamp(0, 1).mul(255).round()


RUNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sr/srcnn-x2": lambda x: sr.upscale(x, "sr/srcnn-x2"),
    "sr/compact-x2": lambda x: sr.upscale(x, "sr/compact-x2"),
    "sr/compact-x4": lambda x: sr.upscale(x, "sr/compact-x4", self_ensemble=False),
    "enhance/compact-x2": lambda x: enhance.generate(x, "enhance/compact-x2"),
    "enhance/compact-x1": lambda x: enhance.generate(x, "enhance/compact-x1", scale=1),
    "enhance/distilled-x2": lambda x: enhance.generate(x, "enhance/distilled-x2"),
    "enhance/distilled-x1": lambda x: enhance.generate(x, "enhance/distilled-x1", scale=1),
    "denoise/unet": lambda x: denoise.denoise(add_gaussian_noise(x, 25, seed=0), "denoise/unet", sigma=25)[0],
    "dejpeg/fbcnn-lite": lambda x: dejpeg.dejpeg(jpeg(x, 20), "dejpeg/fbcnn-lite", quality=20)[0],
    "color/unet": lambda x: colorize.colorize(x, "color/unet", short_side=96, ensemble=False),
    "color/classes": lambda x: colorize.colorize(x, "color/classes", short_side=96, ensemble=False),
    **{s.id: (lambda i: lambda x: style.fast_stylize(x, i))(s.id)
       for s in list_specs("style") if s.source_kind == "bundled"},
}


def test_every_bundled_image_model_is_covered():
    image_tasks = ("sr", "enhance", "denoise", "dejpeg", "color", "style")
    bundled = {s.id for t in image_tasks for s in list_specs(t) if s.source_kind == "bundled"}
    assert bundled == set(RUNS)


@pytest.mark.parametrize("model_id", sorted(RUNS))
def test_model_card_states_the_cpu_precision(model_id: str) -> None:
    card = (Path(__file__).resolve().parents[1] / "weights" / f"{model_id.replace('/', '-')}.md").read_text()
    assert "## CPU precision" in card, f"{model_id}: run `python benchmarks/cpu_precision.py --cards`"
    section = card[card.index("## CPU precision"):]
    if get_spec(model_id).cpu_bf16:
        assert "Runs in **bf16**" in section and "max |bf16 − fp32| = " in section
    else:
        assert "Runs in **fp32** on every CPU" in section and get_spec(model_id).fp32_reason in section


@pytest.mark.parametrize("model_id", sorted(RUNS))
def test_bf16_stays_within_two_levels_of_fp32(coffee: torch.Tensor, model_id: str) -> None:
    spec = get_spec(model_id)
    if not is_ready(spec):
        pytest.skip(f"{model_id}: bundled weights not in weights/ yet")
    if not spec.cpu_bf16:
        assert len(spec.fp32_reason) > 20, f"{model_id} keeps fp32 without saying why"
        pytest.skip(f"{model_id} stays in fp32: {spec.fp32_reason}")
    outs = {}
    for p in ("fp32", "bf16"):
        with precision.use_precision(p):
            assert load_model(model_id).precision == p
            outs[p] = _levels(RUNS[model_id](coffee))
    diff = (outs["bf16"] - outs["fp32"]).abs()
    assert diff.max().item() <= 2, f"{model_id}: bf16 differs from fp32 by {diff.max().item():.0f} levels"
    assert diff.gt(0).any(), "bf16 ran bit-identical to fp32: autocast did not engage"


@pytest.mark.parametrize(("native", "expected"), [(False, "fp32"), (True, "bf16")])
def test_auto_follows_the_cpu_detector(monkeypatch: pytest.MonkeyPatch, native: bool, expected: str) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    assert precision.resolve_cpu_precision("auto", True) == expected
    assert load_model("sr/compact-x2", precision="auto").precision == expected
    assert isinstance(load_model("sr/compact-x2").module, precision.CpuBf16) is native
    # explicit choices and specs that refuse bf16 do not depend on the detector
    assert precision.resolve_cpu_precision("fp32", True) == "fp32"
    assert precision.resolve_cpu_precision("bf16", True) == "bf16"
    assert precision.resolve_cpu_precision("bf16", False) == "fp32"
    assert load_model("sr/bicubic", precision="bf16").precision == "fp32"


def test_environment_variable_sets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setenv(precision.ENV_VAR, "fp32")
    assert precision.default_precision() == "fp32"
    assert load_model("sr/compact-x2").precision == "fp32"
    with precision.use_precision("bf16"):
        assert load_model("sr/compact-x2").precision == "bf16"
    monkeypatch.setenv(precision.ENV_VAR, "half")
    with pytest.raises(InvalidInputError, match="ENHANCERS_PRECISION: precision must be one of auto, fp32, bf16"):
        precision.default_precision()


def test_detector_agrees_with_cpuinfo() -> None:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    assert precision.cpu_has_native_bf16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


def test_allocator_tuning_reports_glibc() -> None:
    import platform

    assert precision.tune_allocator() is (platform.libc_ver()[0] == "glibc")
    assert precision.tune_allocator() is precision.tune_allocator()  # once per process, same answer


@pytest.fixture
def photo_file(tmp_path, coffee: torch.Tensor):
    return save_png(tmp_path / "coffee.png", coffee)


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_cli_json_reports_each_file_and_honours_precision(tmp_path, photo_file, capsys,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    rc = cli.main(["sr", str(photo_file), "--output-dir", str(tmp_path / "a"), "--model", "sr/compact-x2", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    (row,) = _json_lines(captured.out)
    assert row["model"] == "sr/compact-x2" and row["precision"] == "bf16" and row["device"] == "cpu"
    assert row["input_size"] == [128, 96] and row["output_size"] == [256, 192]
    assert row["input"] == str(photo_file) and (tmp_path / "a" / "coffee.png").is_file()
    assert row["output"] == str(tmp_path / "a" / "coffee.png")
    assert isinstance(row["seconds"], float) and 0 < row["seconds"] < 60

    rc = cli.main(["sr", str(photo_file), "--output-dir", str(tmp_path / "b"), "--model", "sr/compact-x2",
                   "--json", "--precision", "fp32"])
    captured = capsys.readouterr()
    assert rc == 0 and _json_lines(captured.out)[0]["precision"] == "fp32"


@pytest.mark.parametrize("argv", [
    ["denoise", "--sigma", "15"],
    # a bundled fast style that runs in bf16 (some keep fp32: see their specs)
    ["style", "--model", next(s.id for s in list_specs("style") if s.source_kind == "bundled" and s.cpu_bf16)],
])
def test_cli_json_on_other_commands(tmp_path, photo_file, capsys, argv: list[str]) -> None:
    rc = cli.main([argv[0], str(photo_file), "--output-dir", str(tmp_path), "--json", "--precision", "bf16",
                   *argv[1:]])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    (row,) = _json_lines(captured.out)
    assert row["precision"] == "bf16" and row["output_size"] == [128, 96]
