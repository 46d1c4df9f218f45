"""Lazy, safe, cached model loading from ``weights/`` or the Hugging Face Hub.

Nothing loads at import. The first request for a model reads its weights
(safetensors, or a ``.pth`` through ``torch.load(weights_only=True)``, which
refuses pickled code), builds it, and keeps it in a bounded LRU cache. A per-model
lock makes concurrent first requests load it once.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from .archs import get_builder
from .device import configure_cpu_threads, pick_device, pick_dtype
from .errors import ModelUnavailableError, UnsafeWeightsError
from .registry import get_spec, list_specs
from .specs import BundledWeights, HubWeights, ModelSpec


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run.

    Attributes:
        spec: its specification.
        module: ``nn.Module`` on ``device`` in ``dtype``, eval mode.
        device: where it runs.
        dtype: its parameter dtype (float32 on CPU; fp16/bf16 on CUDA when supported).
        nbytes: parameter + buffer memory in bytes.
    """

    spec: ModelSpec
    module: torch.nn.Module
    device: torch.device
    dtype: torch.dtype
    nbytes: int


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read tensors from ``.safetensors`` or a pickle-free-of-code ``.pth``/``.pt``/``.ckpt``.

    Raises:
        UnsafeWeightsError: the pickle references anything but tensors and plain containers.
        ModelUnavailableError: the file is missing or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelUnavailableError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # safetensors raises its own SafetensorError, not exported stably
            raise ModelUnavailableError(f"cannot read {path.name}: {e}") from e
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeWeightsError(
            f"refused to load {path.name}: it contains pickled code or objects other than tensors ({e})") from e
    except (RuntimeError, EOFError, OSError) as e:
        raise ModelUnavailableError(f"cannot read {path.name}: {e}") from e
    if not isinstance(obj, dict):
        raise UnsafeWeightsError(f"{path.name}: expected a state dict, got {type(obj).__name__}")
    return obj


def bundled_alternatives(task: str) -> list[str]:
    """Ids of models of ``task`` that work offline (bundled weights or algorithms)."""
    return [s.id for s in list_specs(task) if s.source_kind != "hub"]


def weights_path(spec: ModelSpec) -> Path | None:
    """Local path to the spec's weights, downloading Hub weights on first use.

    Honours ``HF_ENDPOINT``, ``HF_HOME`` and ``HF_HUB_OFFLINE`` at call time; tqdm
    shows download progress (``gr.Progress(track_tqdm=True)`` mirrors it in the app).

    Raises:
        ModelUnavailableError: bundled file missing, or the Hub cannot be reached
            and the file is not cached. The message names offline alternatives.
    """
    if spec.source is None:
        return None
    if isinstance(spec.source, BundledWeights):
        if not spec.source.path.is_file():
            raise ModelUnavailableError(f"bundled weights for {spec.id} are missing: {spec.source.path}")
        return spec.source.path
    assert isinstance(spec.source, HubWeights)
    return _hub_download(spec, spec.source)


def _hub_download(spec: ModelSpec, src: HubWeights) -> Path:
    import httpx2  # huggingface_hub 2.x's HTTP client; its transport errors are not OSError
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    alternatives = ", ".join(bundled_alternatives(spec.task)) or "none"
    where = f"{src.repo_id}/{src.filename}@{src.revision[:12]}"
    endpoint = os.environ.get("HF_ENDPOINT") or None
    cached = try_to_load_from_cache(src.repo_id, src.filename, cache_dir=_hub_cache_dir(), revision=src.revision,
                                    repo_type=src.repo_type)
    if isinstance(cached, str):
        return Path(cached)
    try:
        if not offline:
            # One un-retried metadata request first: hf_hub_download retries a dead
            # connection with back-off for ~25 s before it gives up.
            get_hf_file_metadata(hf_hub_url(src.repo_id, src.filename, repo_type=src.repo_type,
                                            revision=src.revision, endpoint=endpoint), timeout=10, endpoint=endpoint)
        return Path(hf_hub_download(repo_id=src.repo_id, filename=src.filename, revision=src.revision,
                                    repo_type=src.repo_type, local_files_only=offline,
                                    endpoint=endpoint, cache_dir=_hub_cache_dir()))
    except (LocalEntryNotFoundError, EntryNotFoundError, HfHubHTTPError, httpx2.HTTPError, OSError, ValueError) as e:
        reason = "offline mode (HF_HUB_OFFLINE) and not in the local cache" if offline else _short(e)
        raise ModelUnavailableError(
            f"model {spec.id} ({spec.title}) could not be downloaded from the Hugging Face Hub "
            f"({where}): {reason}. Models that work offline: {alternatives}.") from e


def _hub_cache_dir() -> str | None:
    """``HF_HUB_CACHE``, else ``HF_HOME/hub``, as set now; huggingface_hub reads both only once, at import."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    return None


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


def build_model(spec: ModelSpec, device: torch.device | None = None) -> LoadedModel:
    """Read weights, build the architecture, move it to the device. Not cached."""
    path = weights_path(spec)
    state = read_state_dict(path) if path is not None else None
    built = get_builder(spec.arch)(state, **dict(spec.arch_kwargs))
    device = device or pick_device()
    if device.type == "cpu":
        configure_cpu_threads()
    dtype = pick_dtype(device, built.supports_half, built.supports_bfloat16)
    module = built.module.to(device=device, dtype=dtype).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    nbytes = sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))
    return LoadedModel(spec, module, device, dtype, nbytes)


class ModelCache:
    """Bounded least-recently-used cache of loaded models, by count and by bytes.

    Thread-safe; concurrent first requests for one id build it once.
    """

    def __init__(self, max_models: int = 3, max_bytes: int = 2 * 2**30) -> None:
        self.max_models = max_models
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.loads = 0

    def get(self, model_id: str) -> LoadedModel:
        spec = get_spec(model_id)
        with self._lock:
            if model_id in self._items:
                self._items.move_to_end(model_id)
                return self._items[model_id]
            key_lock = self._loading.setdefault(model_id, threading.Lock())
        with key_lock:
            with self._lock:
                if model_id in self._items:
                    self._items.move_to_end(model_id)
                    return self._items[model_id]
            model = build_model(spec)
            with self._lock:
                self.loads += 1
                self._items[model_id] = model
                self._evict()
            return model

    def _evict(self) -> None:
        while len(self._items) > 1 and (len(self._items) > self.max_models or
                                        sum(m.nbytes for m in self._items.values()) > self.max_bytes):
            self._items.popitem(last=False)

    def cached_ids(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = ModelCache(max_models=int(os.environ.get("ENHANCERS_CACHE_MODELS", "3")),
                    max_bytes=int(float(os.environ.get("ENHANCERS_CACHE_GB", "2")) * 2**30))


def load_model(model_id: str) -> LoadedModel:
    """The model with this id, from the shared cache (loaded on first use).

    Raises:
        UnknownModelError, ModelUnavailableError, UnsafeWeightsError.
    """
    return _CACHE.get(model_id)


def model_cache() -> ModelCache:
    """The process-wide cache (for tests and the app's status line)."""
    return _CACHE


def is_ready(spec: ModelSpec) -> bool:
    """Usable without a download: an algorithm, bundled weights present, or Hub file cached."""
    if spec.source is None:
        return True
    if isinstance(spec.source, BundledWeights):
        return spec.source.path.is_file()
    from huggingface_hub import try_to_load_from_cache

    src = spec.source
    hit = try_to_load_from_cache(src.repo_id, src.filename, cache_dir=_hub_cache_dir(), revision=src.revision,
                                 repo_type=src.repo_type)
    return isinstance(hit, str)
