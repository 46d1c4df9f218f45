"""Device-aware defaults (enhancers/defaults.py): bundled models on CPU, the heavy Hub models on a GPU, tested as the
pure function it is, without a GPU; and the hardware line in the app's header."""

from __future__ import annotations

import pytest

from enhancers import defaults
from enhancers.defaults import Hardware, default_model, default_models, describe_hardware, sr_default_scale
from enhancers.errors import InvalidInputError
from enhancers.registry import get_spec

TAB_TASKS = {"sr": "sr", "enhance": "enhance", "denoise": "denoise", "dejpeg": "dejpeg", "color": "color"}


def test_cpu_starts_with_the_bundled_models() -> None:
    assert default_models("cpu") == {"sr": "sr/compact-x2", "enhance": "enhance/distilled-x2",
                                     "denoise": "denoise/unet", "dejpeg": "dejpeg/fbcnn-lite", "color": "color/unet"}
    assert default_models("cpu", offline=True) == default_models("cpu")
    for model_id in default_models("cpu").values():
        assert get_spec(model_id).source_kind == "bundled", model_id
    assert sr_default_scale("cpu") == 2


@pytest.mark.parametrize("kind", ["cuda", "zerogpu"])
def test_a_gpu_starts_with_real_esrgan_and_the_hub_models(kind: str) -> None:
    chosen = default_models(kind)
    assert chosen["sr"] == "sr/realesrgan-x4plus" and chosen["enhance"] == "enhance/realesrgan-x4plus"
    assert chosen == {tab: gpu for tab, (_, gpu) in defaults.DEFAULTS.items()}
    for tab, model_id in chosen.items():
        spec = get_spec(model_id)
        assert spec.task == TAB_TASKS[tab] and spec.source_kind in ("hub", "wheel"), model_id
    assert sr_default_scale(kind) == 4, "the SR tab starts at Real-ESRGAN's own ×4"


def test_offline_gpu_keeps_only_hub_defaults_that_run_without_a_download() -> None:
    for tab, (cpu, gpu) in defaults.DEFAULTS.items():
        expected = gpu if get_spec(gpu).has_offline_copy else cpu
        assert default_model(tab, "cuda", offline=True) == expected, tab
    assert default_model("denoise", "cuda", offline=True) == "denoise/unet"  # DRUNet has no offline copy


def test_every_tab_default_is_registered_for_its_task() -> None:
    for tab, pair in defaults.DEFAULTS.items():
        for model_id in pair:
            assert get_spec(model_id).task == TAB_TASKS[tab]


def test_unknown_tab_or_hardware_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="no default model for tab 'latent'"):
        default_model("latent", "cpu")
    with pytest.raises(InvalidInputError, match="hardware kind must be one of cpu, cuda, zerogpu, got 'tpu'"):
        default_model("sr", "tpu")


def test_header_line_names_hardware_and_precision() -> None:
    assert describe_hardware(Hardware("cpu", threads=2, precision="bf16")) == "CPU · 2 threads · bf16"
    assert describe_hardware(Hardware("cpu", threads=1)) == "CPU · 1 thread · fp32"
    assert (describe_hardware(Hardware("cuda", "NVIDIA H100 80GB HBM3", 8, "fp16"))
            == "CUDA · NVIDIA H100 80GB HBM3 · fp16")
    assert describe_hardware(Hardware("zerogpu", precision="fp16")) == "ZeroGPU · GPU lent per run · fp16"
    assert Hardware("zerogpu").gpu and Hardware("cuda").gpu and not Hardware("cpu").gpu


def test_detect_hardware_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENHANCERS_DEVICE", "cpu")
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    hw = defaults.detect_hardware()
    assert hw.kind == "cpu" and hw.threads >= 1 and hw.precision in ("fp32", "bf16")
    monkeypatch.setenv("ENHANCERS_PRECISION", "fp32")
    assert defaults.detect_hardware().precision == "fp32"
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert defaults.detect_hardware() == Hardware("zerogpu", threads=hw.threads, precision="fp32")


def test_hub_offline_reads_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, offline in (("1", True), ("true", True), ("0", False), ("", False)):
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert defaults.hub_offline() is offline


def test_the_app_header_shows_the_hardware() -> None:
    import app
    from ui.common import DEFAULTS, HARDWARE

    assert f"**Running on** {describe_hardware(HARDWARE)}" in app.header()
    assert DEFAULTS == default_models(HARDWARE.kind, defaults.hub_offline())


APP_VALUES = """
import json, app
ids = ("sr-scale", "sr-model", "enhance-model", "enhance-fidelity", "denoise-model", "dejpeg-model", "color-model")
props = [c["props"] for c in app.demo.get_config_file()["components"]]
print(json.dumps({"header": app.header(),
                  **{p["elem_id"]: [p.get("value"), p.get("visible")] for p in props if p.get("elem_id") in ids}}))
"""


def test_on_zerogpu_the_tabs_start_with_the_hub_models() -> None:
    """The UI wiring of the GPU defaults, without a GPU: a ZeroGPU Space is recognised by its variable."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"} | {"SPACES_ZERO_GPU": "true",
                                                                           "ENHANCERS_DEVICE": "cpu"}
    proc = subprocess.run([sys.executable, "-c", APP_VALUES], env=env, cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "**Running on** ZeroGPU · GPU lent per run" in got["header"]
    assert got["sr-scale"][0] == 4 and got["sr-model"][0] == "sr/realesrgan-x4plus"
    assert got["enhance-model"][0] == "enhance/realesrgan-x4plus"
    assert got["enhance-fidelity"][1] is False, "Real-ESRGAN x4plus has no fidelity slider"
    assert got["denoise-model"][0] == "denoise/drunet-color" and got["dejpeg-model"][0] == "dejpeg/fbcnn-color"
    assert got["color-model"][0] == "color/ddcolor-tiny"
