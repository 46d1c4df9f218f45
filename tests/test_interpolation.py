"""Tests for network interpolation (ESRGAN §3.4) in enhancers/loader.py and the Real-ESRGAN "enhance" specs.

Hub weights come from a local fake Hub (tests/fake_hub.py) serving tiny random-weight SRVGGNetCompact ×4
state dicts under the file names the registry pins.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact

import enhancers.registry
import enhancers.specs
from enhancers import loader, runner
from enhancers.errors import InvalidInputError, ModelUnavailableError, UnsafeWeightsError
from enhancers.registry import REGISTRY, get_spec, list_specs
from enhancers.specs import BundledWeights, HubWeights, ModelSpec, NetworkInterpolation
from enhancers.training.data import prepare_hr, skimage_dir
from fake_hub import FakeHub

GENERAL = "enhance/realesr-general-x4v3"


def _compact_x4(seed: int, num_feat: int = 16, num_conv: int = 4) -> dict[str, torch.Tensor]:
    """Random SRVGGNetCompact ×4 weights (realesr-general-x4v3 has num_feat=64, num_conv=32; spandrel reads both
    from the keys, so a smaller copy exercises the same code)."""
    torch.manual_seed(seed)
    net = Compact(num_in_ch=3, num_out_ch=3, num_feat=num_feat, num_conv=num_conv, upscale=4, act_type="prelu")
    with torch.no_grad():  # PReLU starts at 0.25 everywhere: spread it so the two trainings differ there too
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


WDN, GEN = _compact_x4(seed=1), _compact_x4(seed=2)


def _blend(alpha: float) -> dict[str, torch.Tensor]:
    return {k: ((1 - alpha) * WDN[k].double() + alpha * GEN[k].double()).float() for k in WDN}


def _assert_params(model: loader.LoadedModel, expected: dict[str, torch.Tensor]) -> None:
    state = model.module.state_dict()
    assert state.keys() == expected.keys()
    for key, value in state.items():
        assert torch.equal(value, expected[key]), key


@pytest.fixture
def general_hub(tmp_path: Path, hf_home: Path, monkeypatch: pytest.MonkeyPatch):
    """The fake Hub serving the general-v3 pair as Real-ESRGAN saves them ({"params": ...}), and a fresh cache."""
    spec = get_spec(GENERAL)
    served = tmp_path / "served"
    for src, state in ((spec.source, WDN), (spec.interpolation.other, GEN)):
        (served / src.filename).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"params": state}, served / src.filename)
    hub = FakeHub(served, lfs_redirect=False, repo=f"spaces/{spec.source.repo_id}", commit=spec.source.revision)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())
    yield hub
    hub.close()


@pytest.fixture
def photo() -> torch.Tensor:
    """A 48×48 crop of scikit-image's chelsea (held out from training), RGB float32 (1, 3, 48, 48) in [0, 1]."""
    return prepare_hr(skimage_dir() / "chelsea.png", crop=48)


# --- interpolate_state_dicts --------------------------------------------------------------------------------------


def test_interpolate_endpoints_are_exact_and_midpoint_is_the_mean() -> None:
    a, b = _compact_x4(seed=3), _compact_x4(seed=4)
    at0 = loader.interpolate_state_dicts(a, b, 0.0)
    at1 = loader.interpolate_state_dicts(a, b, 1)
    mid = loader.interpolate_state_dicts(a, b, 0.5)
    for key in a:
        assert torch.equal(at0[key], a[key]) and torch.equal(at1[key], b[key]), key
        assert mid[key].dtype == torch.float32
        assert torch.equal(mid[key], ((a[key].double() + b[key].double()) / 2).float()), key
    assert not torch.equal(mid["body.0.weight"], a["body.0.weight"])


def test_interpolate_nested_dicts_and_non_float_values() -> None:
    a = {"params": {"w": torch.zeros(2, 3), "n": torch.tensor(3)}, "iter": 10}
    b = {"params": {"w": torch.ones(2, 3), "n": torch.tensor(7)}, "iter": 20}

    low, high = loader.interpolate_state_dicts(a, b, 0.25), loader.interpolate_state_dicts(a, b, 0.75)

    assert torch.equal(low["params"]["w"], torch.full((2, 3), 0.25))
    assert torch.equal(high["params"]["w"], torch.full((2, 3), 0.75))
    assert (low["params"]["n"].item(), low["iter"]) == (3, 10)
    assert (high["params"]["n"].item(), high["iter"]) == (7, 20)
    assert torch.equal(a["params"]["w"], torch.zeros(2, 3)) and torch.equal(b["params"]["w"], torch.ones(2, 3))


def test_interpolate_refuses_different_keys() -> None:
    a, b = _compact_x4(seed=0), _compact_x4(seed=0, num_conv=5)
    with pytest.raises(UnsafeWeightsError, match=re.escape("body.12.weight")):
        loader.interpolate_state_dicts(a, b, 0.5)
    with pytest.raises(UnsafeWeightsError, match="params"):
        loader.interpolate_state_dicts({"params": a}, {"params_ema": a}, 0.5)


def test_interpolate_refuses_different_shapes_and_types() -> None:
    a, b = _compact_x4(seed=0), _compact_x4(seed=0, num_feat=8)
    with pytest.raises(UnsafeWeightsError, match=r"body\.0\.weight: shape \(16, 3, 3, 3\).*\(8, 3, 3, 3\)"):
        loader.interpolate_state_dicts(a, b, 0.5)
    with pytest.raises(UnsafeWeightsError, match="Tensor"):
        loader.interpolate_state_dicts({"w": torch.ones(1)}, {"w": {"x": torch.ones(1)}}, 0.5)


@pytest.mark.parametrize("alpha", [-0.01, 1.01, float("nan"), float("inf"), True, "0.5"])
def test_interpolate_refuses_alpha_outside_unit_interval(alpha: object) -> None:
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        loader.interpolate_state_dicts({"w": torch.zeros(1)}, {"w": torch.ones(1)}, alpha)


# --- The registered Real-ESRGAN specs -----------------------------------------------------------------------------


def test_enhance_specs_registered() -> None:
    specs = {s.id: s for s in list_specs("enhance")}
    assert {"enhance/realesrgan-x4plus", "enhance/realesrgan-x2plus", GENERAL} <= specs.keys()
    assert specs["enhance/realesrgan-x4plus"].source is REGISTRY["sr/realesrgan-x4plus"].source
    assert (specs["enhance/realesrgan-x2plus"].scale, specs[GENERAL].scale) == (2, 4)
    general = specs[GENERAL]
    assert general.interpolation is not None and general.interpolation.control == "denoise_strength"
    # Real-ESRGAN's dni: strength s weighs realesr-general-x4v3 by s and the wdn weights by 1 − s.
    assert general.source.filename.endswith("realesr-general-wdn-x4v3.pth")
    assert general.interpolation.other.filename.endswith("realesr-general-x4v3.pth")
    assert general.interpolation.default == 0.5
    assert general.label.endswith("(downloads 5 MB + 5 MB on first use)")
    assert general.download_mb == pytest.approx(9.8)
    assert specs["enhance/realesrgan-x4plus"].interpolation is None
    assert specs["enhance/realesrgan-x2plus"].interpolation is None


@pytest.mark.parametrize("spec", [s for s in REGISTRY.values() if s.interpolation is not None], ids=lambda s: s.id)
def test_second_weights_are_pinned_or_bundled(spec: ModelSpec) -> None:
    """tests/test_registry_tiling.py checks each spec's ``source``; this checks the interpolation's ``other``."""
    other = spec.interpolation.other
    assert other != spec.source
    if isinstance(other, HubWeights):
        assert re.fullmatch(r"[0-9a-f]{40}", other.revision) and other.size_mb > 0
        assert f"{other.size_mb:.0f} MB" in spec.label
    else:
        assert other.filename.endswith(".safetensors") and other.path.is_file(), f"{other.path} is not committed"
    assert spec.interpolation.control.isidentifier() and spec.interpolation.label.strip()


def test_interpolation_settings_are_checked() -> None:
    other = BundledWeights("b.safetensors")
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        NetworkInterpolation(other, control="fidelity", default=1.5, label="Fidelity ↔ texture")
    with pytest.raises(InvalidInputError, match="keyword"):
        NetworkInterpolation(other, control="denoise strength", default=0.5, label="x")
    with pytest.raises(InvalidInputError, match="enhance/none"):
        ModelSpec(id="enhance/none", title="t", task="enhance", arch="spandrel", source=None, license="MIT",
                  paper="https://example.invalid", interpolation=NetworkInterpolation(other, "fidelity", 0.5, "x"))


# --- load_model with α, through the fake Hub -----------------------------------------------------------------------


def test_load_model_blends_the_two_downloads(general_hub: FakeHub, hf_home: Path) -> None:
    spec = get_spec(GENERAL)
    assert loader.is_ready(spec) is False

    models = {alpha: loader.load_model(GENERAL, alpha) for alpha in (0.0, 1.0, 0.3)}

    _assert_params(models[0.0], WDN)
    _assert_params(models[1.0], GEN)
    _assert_params(models[0.3], _blend(0.3))
    assert [m.alpha for m in models.values()] == [0.0, 1.0, 0.3]
    assert loader.is_ready(spec) is True
    path_a, path_b = loader.interpolation_paths(spec)
    assert path_a.name == "realesr-general-wdn-x4v3.pth" and path_b.name == "realesr-general-x4v3.pth"
    assert path_a.is_relative_to(hf_home) and path_b.is_relative_to(hf_home)


def test_outputs_differ_between_alphas(general_hub: FakeHub, photo: torch.Tensor) -> None:
    outs = {alpha: runner.run_model(loader.load_model(GENERAL, alpha), photo) for alpha in (0.0, 0.3, 1.0)}

    for out in outs.values():
        assert out.shape == (1, 3, 192, 192) and torch.isfinite(out).all()
    for x, y in ((0.0, 0.3), (0.3, 1.0), (0.0, 1.0)):
        assert (outs[x] - outs[y]).abs().mean() > 1e-3, (x, y)


def test_cache_key_includes_alpha_and_files_are_read_once(general_hub: FakeHub) -> None:
    cache = loader.model_cache()
    first = loader.load_model(GENERAL, 0.3)
    requests = general_hub.count()

    assert loader.load_model(GENERAL, 0.3) is first
    assert loader.load_model(GENERAL, 0.304) is first  # α is rounded to 0.01
    other = loader.load_model(GENERAL, 0.7)

    assert other is not first and other.alpha == 0.7
    assert cache.cached_keys() == [(GENERAL, 0.3), (GENERAL, 0.7)]
    assert cache.cached_ids() == [GENERAL]
    assert cache.loads == 2
    assert cache.pair_reads == 1 and cache.cached_weight_pairs() == [GENERAL]
    assert general_hub.count() == requests


def test_default_alpha_when_none(general_hub: FakeHub) -> None:
    model = loader.load_model(GENERAL)

    assert model.alpha == get_spec(GENERAL).interpolation.default == 0.5
    assert loader.load_model(GENERAL, 0.5) is model
    _assert_params(model, _blend(0.5))
    assert loader.model_cache().cached_keys() == [(GENERAL, 0.5)]


def test_cache_bounds_hold_across_alphas(general_hub: FakeHub) -> None:
    by_count = loader.ModelCache(max_models=2)
    for alpha in (0.1, 0.2, 0.3):
        by_count.get(GENERAL, alpha)
    assert by_count.cached_keys() == [(GENERAL, 0.2), (GENERAL, 0.3)]

    by_bytes = loader.ModelCache(max_models=10, max_bytes=1)
    for alpha in (0.1, 0.2):
        assert by_bytes.get(GENERAL, alpha).nbytes > by_bytes.max_bytes
        assert by_bytes.cached_keys() == [(GENERAL, alpha)]
    assert by_bytes.pair_reads == 1  # the newest pair stays, whatever its size


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan")])
def test_alpha_out_of_range_is_refused(general_hub: FakeHub, alpha: float) -> None:
    with pytest.raises(InvalidInputError, match=r"denoise_strength for enhance/realesr-general-x4v3 .*\[0, 1\]"):
        loader.load_model(GENERAL, alpha)
    assert general_hub.count() == 0


def test_alpha_for_model_without_interpolation_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())
    with pytest.raises(InvalidInputError, match="sr/bicubic.*alpha=0.5"):
        loader.load_model("sr/bicubic", 0.5)
    assert loader.load_model("sr/bicubic").alpha is None
    with pytest.raises(InvalidInputError, match="enhance/realesrgan-x4plus"):
        loader.load_model("enhance/realesrgan-x4plus", 0.0)


def test_second_file_missing_on_hub_is_unavailable(general_hub: FakeHub) -> None:
    spec = get_spec(GENERAL)
    (general_hub.root / spec.interpolation.other.filename).unlink()

    with pytest.raises(ModelUnavailableError) as info:
        loader.load_model(GENERAL, 0.5)

    assert GENERAL in str(info.value) and "weights/realesr-general-x4v3.pth" in str(info.value)
    assert loader.is_ready(spec) is False
    assert loader.model_cache().cached_keys() == []


def test_concurrent_first_requests_build_once(general_hub: FakeHub) -> None:
    cache = loader.model_cache()
    barrier = threading.Barrier(6)
    results: list[loader.LoadedModel] = []

    def worker(alpha: float) -> None:
        barrier.wait()
        results.append(cache.get(GENERAL, alpha))

    threads = [threading.Thread(target=worker, args=(0.3 if i % 2 else 0.6,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert len(results) == 6
    assert len({id(m) for m in results}) == 2
    assert cache.loads == 2 and cache.pair_reads == 1


# --- Bundled pairs (the mechanism the project's own GAN generator uses) ---------------------------------------------


@pytest.fixture
def bundled_blend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Two interpolated specs with bundled safetensors: a matching pair and one whose θ_B has an extra layer."""
    weights = tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setattr(enhancers.specs, "WEIGHTS_DIR", weights)
    save_file(WDN, str(weights / "psnr.safetensors"))
    save_file(GEN, str(weights / "gan.safetensors"))
    save_file(_compact_x4(seed=5, num_conv=5), str(weights / "deeper.safetensors"))
    ids = []
    for name, other in (("test-blend", "gan.safetensors"), ("test-mismatch", "deeper.safetensors")):
        spec = ModelSpec(id=f"enhance/{name}", title=name, task="enhance", arch="spandrel",
                         source=BundledWeights("psnr.safetensors"), license="MIT", paper="https://example.invalid",
                         scale=4, interpolation=NetworkInterpolation(BundledWeights(other), "fidelity", 0.2,
                                                                     "Fidelity ↔ texture"))
        monkeypatch.setitem(enhancers.registry.REGISTRY, spec.id, spec)
        ids.append(spec.id)
    return ids[0], ids[1]


def test_bundled_pair_blends_and_pair_cache_is_bounded(bundled_blend: tuple[str, str], general_hub: FakeHub) -> None:
    blend_id, _ = bundled_blend
    cache = loader.ModelCache(max_weight_pairs=1)

    model = cache.get(blend_id)
    assert model.alpha == 0.2 and get_spec(blend_id).source_kind == "bundled"
    _assert_params(model, _blend(0.2))
    cache.get(GENERAL, 0.4)
    assert cache.cached_weight_pairs() == [GENERAL]
    cache.get(blend_id, 0.9)
    assert cache.cached_weight_pairs() == [blend_id]
    assert cache.pair_reads == 3
    _assert_params(loader.build_model(get_spec(blend_id), torch.device("cpu"), alpha=0.9), _blend(0.9))


def test_bundled_pair_with_different_layers_is_refused(bundled_blend: tuple[str, str]) -> None:
    _, mismatch_id = bundled_blend
    cache = loader.ModelCache()
    with pytest.raises(UnsafeWeightsError, match="body.12"):
        cache.get(mismatch_id)
    assert cache.cached_keys() == [] and cache.cached_weight_pairs() == []


def test_hub_spec_label_lists_each_download() -> None:
    spec = ModelSpec(id="enhance/t", title="T", task="enhance", arch="spandrel",
                     source=BundledWeights("a.safetensors"), license="MIT", paper="https://example.invalid",
                     interpolation=NetworkInterpolation(HubWeights("o/r", "b.pth", size_mb=12.4), "fidelity", 0.5,
                                                        "x"))
    assert spec.source_kind == "hub" and spec.label == "T (downloads 12 MB on first use)"
