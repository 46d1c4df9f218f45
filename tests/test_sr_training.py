"""SR training machinery: patch pairs stay aligned through the augmentations; every arch builds; the run log's
loss means; model-card sections."""

import io
import random
import shlex
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from enhancers.training.cards import card_section, existing_section
from enhancers.training.runs import LossMeans
from enhancers.training.sr import ARCHS, SRConfig, _batch, build_model


def _pool(scale: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    pool = []
    for h, w in ((40, 64), (64, 48)):
        # Average pooling commutes with flips and 90° rotations, like any fixed isotropic downscale.
        lr = torch.randint(0, 256, (3, h // scale, w // scale), generator=g, dtype=torch.uint8)
        hr = lr.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
        pool.append((hr, lr))
    return pool


@pytest.mark.parametrize("scale", [2, 4])
def test_batch_pairs_stay_aligned(scale):
    cfg = SRConfig(arch="compact", scale=scale, steps=1, out_name="t", batch=24, lr_patch=8)
    lr, hr = _batch(_pool(scale), cfg, random.Random(1))
    assert lr.shape == (24, 3, 8, 8) and hr.shape == (24, 3, 8 * scale, 8 * scale)
    assert lr.dtype == hr.dtype == torch.float32 and 0 <= lr.min() and lr.max() <= 1
    torch.testing.assert_close(F.avg_pool2d(hr, scale), lr)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_every_arch_builds_and_upscales(arch):
    model = build_model(SRConfig(arch=arch, scale=4, steps=1, out_name="t", num_feat=8, num_conv=2)).eval()
    with torch.no_grad():
        y = model(torch.rand(1, 3, 12, 10))
    assert y.shape == (1, 3, 48, 40) and torch.isfinite(y).all()


@pytest.mark.parametrize("cfg", [
    SRConfig(arch="srcnn", scale=2, steps=1000, out_name="sr-srcnn-x2", lr_patch=32, lr=1e-3, eval_every=250),
    SRConfig(arch="compact", scale=4, steps=1000000, out_name="sr-compact-x4", num_feat=48, num_conv=12, batch=32,
             lr_patch=48, lr=3e-4, threads=2, eval_every=2000, init="weights/sr-compact-x4.safetensors",
             hr_downscales=(2, 2.5, 3, 3.5, 4), run_dir="runs/gpu", minutes=21, min_patch_std=0.02,
             uniform_photos=True),
    SRConfig(arch="span", scale=4, steps=50, out_name="x", num_feat=32),
])
def test_model_card_command_reproduces_the_config(cfg):
    from dataclasses import asdict

    from enhancers.training.__main__ import build_parser, sr_config
    from enhancers.training.report import _command

    words = shlex.split(_command(asdict(cfg)))
    assert words[:3] == ["python", "-m", "enhancers.training"]
    parsed = sr_config(build_parser().parse_args(words[3:]))
    if cfg.arch != "compact":  # num_conv is not printed (nor used) for these
        parsed = replace(parsed, num_conv=cfg.num_conv)
    if cfg.arch == "srcnn":
        parsed = replace(parsed, num_feat=cfg.num_feat)
    assert parsed == cfg


def test_training_without_photos_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from enhancers.specs import WEIGHTS_DIR
    from enhancers.training import data
    from enhancers.training.__main__ import main

    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "no-photos")
    rc = main(["sr", "--arch", "compact", "--scale", "2", "--steps", "1", "--out", "never-written",
               "--run-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.startswith("error: no corpus photos") and "make photos" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
    assert not (WEIGHTS_DIR / "never-written.safetensors").exists()


def test_loss_means_writes_the_mean_of_each_term_every_n_steps():
    log = io.StringIO()
    means = LossMeans(log, every=2, label="d-warmup", digits=3)
    means.update(1, {"l1": torch.tensor(1.0), "adv": 0.5}, elapsed_s=3.2)
    assert log.getvalue() == ""
    means.update(2, {"l1": torch.tensor(2.0, requires_grad=True), "adv": 1.5}, elapsed_s=6.7, extra=" window 0.9")
    means.update(3, {"l1": torch.tensor(4.0), "adv": 0.0}, elapsed_s=9.0)
    means.update(4, {"l1": torch.tensor(6.0), "adv": 0.0}, elapsed_s=12.0)
    assert log.getvalue().splitlines() == ["d-warmup 2 l1 1.500 adv 1.000 window 0.9 elapsed 7s",
                                           "d-warmup 4 l1 5.000 adv 0.000 elapsed 12s"]


def test_card_section_keeps_another_writers_section(tmp_path):
    card = "# model\n\n## Training\nsteps\n\n## CPU precision\n\n- bf16: 1 level\n\n## Notes\nkept\n"
    assert card_section(card, "## CPU precision") == "## CPU precision\n\n- bf16: 1 level\n\n"
    assert card_section(card, "## Notes") == "## Notes\nkept\n"
    assert card_section(card, "## Speed") == ""
    path = tmp_path / "model.md"
    assert existing_section(path, "## Training") == ""
    path.write_text(card)
    assert existing_section(path, "## Training") == "## Training\nsteps\n\n"


def test_cosine_lr_falls_from_base_to_the_floor_and_holds():
    from enhancers.training.runs import cosine_lr

    assert cosine_lr(1e-3, 0.0) == pytest.approx(1e-3)
    assert cosine_lr(1e-3, 0.5) == pytest.approx(0.5 * (1e-3 + 1e-6))
    assert cosine_lr(1e-3, 1.0) == pytest.approx(1e-6)
    assert cosine_lr(1e-3, 3.0) == cosine_lr(1e-3, 1.0)  # past the budget it stays at the floor
    lrs = [cosine_lr(2e-4, i / 10) for i in range(11)]
    assert all(a > b for a, b in zip(lrs, lrs[1:]))


def test_training_device_resolves_auto_and_passes_names_on(monkeypatch):
    """runs.training_device: the SR and distillation trainers' --device (auto → CUDA only when there is one)."""
    from enhancers.training.runs import training_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training_device("auto") == torch.device("cpu")
    assert training_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    assert training_device("auto") == torch.device("cuda")
    assert torch.backends.cudnn.benchmark  # fixed crop sizes: cuDNN may pick its fastest kernels
    with pytest.raises(RuntimeError):
        training_device("gpu")
