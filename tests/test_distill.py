"""The generators distilled from Real-ESRGAN x4plus: the cached-target reader, the committed cards, and their quality
on a photo never trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from skimage import data

from enhancers import degrade, enhance, imageio
from enhancers.metrics import lpips, psnr_rgb
from enhancers.training import distill, distill_report
from enhancers.training.cards import CPU_PRECISION_HEADING, existing_section

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def test_load_targets_reduces_the_teachers_output_to_the_students_scale(tmp_path: Path) -> None:
    ramp = torch.linspace(0, 1, 8)
    lq = (torch.stack([ramp[None, :] * ramp[:, None], ramp[None, :].expand(8, 8), ramp[:, None].expand(8, 8)])
          .mul(255).round().to(torch.uint8)[None].repeat(3, 1, 1, 1))
    # a smooth teacher output whose 4×4 blocks hold the crop's values: reduced to ×1 it must give them back
    t4 = imageio.resize(lq[:1].float() / 255, (32, 32), "bicubic", out_dtype=torch.uint8).repeat(3, 1, 1, 1)
    save_file({"lq": lq, "teacher_x4": t4, "hr_x2": lq.repeat_interleave(2, -1).repeat_interleave(2, -2)},
              str(tmp_path / "shard-0000.safetensors"))
    for scale in (1, 2):
        lqs, targets = distill.load_targets(tmp_path, scale)
        assert torch.equal(lqs, lq) and targets.dtype == torch.uint8
        assert targets.shape == (3, 3, 8 * scale, 8 * scale)
    _, x1 = distill.load_targets(tmp_path, 1)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))  # away from the edges, where blocks meet
    assert (x1[inner].int() - lq[inner].int()).abs().max() <= 8
    with pytest.raises(FileNotFoundError, match="distill --stage targets"):
        distill.load_targets(tmp_path / "empty", 2)
    # the clean crops, for a discriminator told they are real: as stored at ×2, reduced by 2 for the same size
    hr = distill.load_clean(tmp_path, 2)
    assert torch.equal(hr, lq.repeat_interleave(2, -1).repeat_interleave(2, -2))
    clean_x1 = distill.load_clean(tmp_path, 1)
    assert clean_x1.shape == lq.shape and (clean_x1[inner].int() - lq[inner].int()).abs().max() <= 8
    with pytest.raises(FileNotFoundError, match="distill --stage targets"):
        distill.load_clean(tmp_path / "empty", 1)


@pytest.mark.parametrize(("have", "want"), [(2, 2), (2, 5), (3, 6), (0, 2)])
def test_deepen_adds_identity_layers_that_keep_the_output(have: int, want: int) -> None:
    """distill.deepen: new body convolutions start as identities, so the deeper network's output is the same."""
    import spandrel

    torch.manual_seed(0)
    srvgg = spandrel.ModelLoader()  # build through spandrel: it must detect the deeper network from its keys
    small = srvgg.load_from_state_dict(_random_srvgg(have)).model.eval()
    state = distill.deepen(small.state_dict(), want)
    deep = srvgg.load_from_state_dict(state).model.eval()
    assert sum(1 for k in state if k.endswith(".weight") and state[k].ndim == 4) == want + 2
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        assert torch.allclose(deep(x), small(x), atol=1e-6)
    with pytest.raises(ValueError, match="cannot deepen"):
        distill.deepen(state, want - 1)
    with pytest.raises(ValueError, match="SRVGGNetCompact"):
        distill.deepen({"conv.weight": torch.zeros(4, 3, 3, 3)}, 4)


@pytest.mark.parametrize("scale", [1, 2])
def test_merge_parallel_computes_the_blend_of_two_networks(scale: int) -> None:
    """distill.merge_parallel: one wider network whose output is (1 − w)·first + w·second, for networks of
    different widths and depths; spandrel loads it as SRVGGNetCompact."""
    import spandrel

    torch.manual_seed(0)
    loader = spandrel.ModelLoader()
    first, second = _random_srvgg(4, feat=8, scale=scale), _random_srvgg(2, feat=6, scale=scale)
    for state in (first, second):  # give the last convolutions a visible effect
        last = max((k for k in state if k.endswith(".weight") and state[k].ndim == 4),
                   key=lambda k: int(k.split(".")[1]))
        state[last].normal_(0, 0.2)
    nets = [loader.load_from_state_dict(s).model.eval() for s in (first, second)]
    x = torch.rand(1, 3, 11, 9)
    with torch.no_grad():
        ya, yb = nets[0](x), nets[1](x)
        assert (ya - yb).abs().max() > 0.01
        for w in (0.0, 0.3, 1.0):
            merged = distill.merge_parallel(first, second, w)
            desc = loader.load_from_state_dict(merged)
            assert desc.scale == scale and merged["body.0.weight"].shape[0] == 14
            assert torch.allclose(desc.model.eval()(x), (1 - w) * ya + w * yb, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        distill.merge_parallel(first, second, 1.5)
    with pytest.raises(ValueError, match="scale factors differ"):
        distill.merge_parallel(first, _random_srvgg(2, feat=6, scale=3 - scale), 0.5)


def test_distill_merge_stage_writes_the_merged_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`distill --stage merge`: the two files side by side in weights/<out>.safetensors; without --partner, exit 2."""
    import spandrel
    from safetensors.torch import load_file

    from enhancers.training.__main__ import main

    torch.manual_seed(1)
    first, second = _random_srvgg(3, feat=8, scale=1), _random_srvgg(1, feat=4, scale=1)
    save_file(first, str(tmp_path / "a.safetensors"))
    save_file(second, str(tmp_path / "b.safetensors"))
    monkeypatch.setattr(distill, "WEIGHTS_DIR", tmp_path)
    assert main(["distill", "--stage", "merge", "--init", str(tmp_path / "a.safetensors"), "--partner",
                 str(tmp_path / "b.safetensors"), "--partner-weight", "0.25", "--out", "m"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert (written["num_feat"], written["num_conv"]) == (12, 3)
    loader = spandrel.ModelLoader()
    merged = loader.load_from_state_dict(load_file(str(tmp_path / "m.safetensors"))).model.eval()
    x = torch.rand(1, 3, 9, 9)
    with torch.no_grad():
        want = 0.75 * loader.load_from_state_dict(first).model.eval()(x) + 0.25 * loader.load_from_state_dict(
            second).model.eval()(x)
        assert torch.allclose(merged(x), want, atol=1e-5)
    assert main(["distill", "--stage", "merge", "--init", str(tmp_path / "a.safetensors"), "--out", "n"]) == 2
    assert "needs --init and --partner" in capsys.readouterr().err
    save_file(_random_srvgg(1, feat=4, scale=2), str(tmp_path / "x2.safetensors"))
    assert main(["distill", "--stage", "merge", "--init", str(tmp_path / "a.safetensors"), "--partner",
                 str(tmp_path / "x2.safetensors"), "--out", "n"]) == 2
    assert capsys.readouterr().err.startswith("error: the networks' scale factors differ")
    assert not (tmp_path / "n.safetensors").exists()


def _random_srvgg(num_conv: int, feat: int = 8, scale: int = 2) -> dict[str, torch.Tensor]:
    """SRVGGNetCompact weights with random PReLU slopes (not 1, so an identity layer is not there by chance)."""
    from spandrel.architectures.Compact.__arch.SRVGG import SRVGGNetCompact

    net = SRVGGNetCompact(num_feat=feat, num_conv=num_conv, upscale=scale, act_type="prelu")
    for m in net.modules():
        if isinstance(m, torch.nn.PReLU):
            torch.nn.init.uniform_(m.weight, 0.05, 0.5)
    return net.state_dict()


@pytest.fixture(scope="module")
def metrics() -> dict:
    return json.loads(distill_report.METRICS_FILE.read_text())


@pytest.mark.parametrize("scale", [2, 1])
def test_committed_cards_are_what_their_metrics_write(metrics: dict, scale: int) -> None:
    card = WEIGHTS / f"enhance-distilled-x{scale}.md"
    precision = existing_section(card, CPU_PRECISION_HEADING)
    assert card.read_text() == distill_report.card_text(metrics, scale, precision)
    for end in ("l1", "perceptual"):
        stem = f"enhance-distilled-x{scale}"
        assert (WEIGHTS / f"{stem}-{end}.md").read_text() == distill_report.file_card_text(stem, end)


def test_the_report_holds_the_teacher_and_the_bars(metrics: dict) -> None:
    mean = metrics["generator"]["mean"]
    for proto in distill_report.PROTOCOLS:
        assert {"teacher_x4plus", "previous_a1", "distilled_a0", "distilled_a1", "bicubic"} <= set(mean[proto])
        b = metrics["bars"]["distilled_a1"][proto]
        assert b["lpips"] == pytest.approx(mean[proto]["distilled_a1"]["lpips"] - mean[proto]["teacher_x4plus"]["lpips"],
                                           abs=1e-3)
    assert metrics["speed"]["speedup_x2"] >= 10 and metrics["speed"]["speedup_x1"] >= 10
    assert metrics["targets"]["crops"] >= 1024 and metrics["targets"]["teacher_output_mp"] > 0


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    """scikit-image's astronaut (held out), ↓2 Lanczos, a 256-px centre crop: RGB float32 (1, 3, 256, 256)."""
    full = imageio.numpy_to_tensor(data.astronaut())
    half = imageio.resize(full, (256, 256), "lanczos")
    return half.clamp(0, 1)


@pytest.mark.parametrize("scale", [2, 1])
def test_distilled_generator_beats_bicubic_and_the_slider_moves(astronaut: torch.Tensor, scale: int) -> None:
    """The fixed mix on a photo never trained on: α = 1 is perceptually closer (LPIPS) to the clean photo than the
    degraded input brought back with bicubic, α = 0 has the higher PSNR, and the two ends differ."""
    lq = degrade.fixed_mix(astronaut, scale, seed=0)
    size = (astronaut.shape[-1], astronaut.shape[-2])
    bic = lq if scale == 1 else imageio.resize(lq, size, "bicubic")
    out0, out1 = (enhance.generate(lq, "enhance/distilled-x2", scale=scale, alpha=a) for a in (0.0, 1.0))
    assert out1.shape == astronaut.shape and torch.isfinite(out1).all()
    assert lpips(out1, astronaut) < lpips(bic, astronaut) - 0.05
    assert psnr_rgb(out0, astronaut) > psnr_rgb(bic, astronaut)
    assert (out0 - out1).abs().mean() > 1e-3
