"""Numeric precision on CPU (fp32 or bfloat16) and the allocator tuning that goes with fast CPU inference.

Policy: ``auto`` runs a model in bfloat16 on CPUs with native bf16 arithmetic (AVX512_BF16 or
AMX-BF16) when its spec allows it (:attr:`~enhancers.specs.ModelSpec.cpu_bf16`), and in fp32
elsewhere; ``fp32`` and ``bf16`` force one or the other (a spec that refuses bf16 still runs in
fp32). CUDA keeps its own choice (:func:`enhancers.device.pick_dtype`). The default comes from the
``ENHANCERS_PRECISION`` environment variable (``auto`` when unset); :func:`use_precision` overrides
it for the calls inside a ``with`` block (the CLI's and the app's ``precision`` setting).

bf16 runs as ``torch.autocast("cpu", dtype=torch.bfloat16)`` around the module with its weights in
fp32 and channels_last memory layout; the first and last convolutions stay in fp32, so the input's
fine levels and the output's rounding are not lost to bf16's 8-bit mantissa, and PReLU runs as a
clamp-and-multiply that suits that layout. Measured on ``sr/compact-x4``, 0.25 MP, tiled, one core of
an AVX-512 machine (benchmarks/cpu_precision.py --quick): 0.20 → 0.44 MP/s, outputs within 1 level of
fp32 on that photo; on a 256 px coffee crop, 2 of 3.1 million output values were 3 levels away.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import platform
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import torch

from .errors import InvalidInputError

PRECISIONS = ("auto", "fp32", "bf16")
"""Values a caller may ask for."""
ENV_VAR = "ENHANCERS_PRECISION"

_DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
_override: ContextVar[str | None] = ContextVar("enhancers_precision", default=None)


def check_precision(value: str) -> str:
    """``value`` lower-cased when it is one of :data:`PRECISIONS`.

    Raises:
        InvalidInputError: anything else.
    """
    v = str(value).strip().lower()
    if v not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}; got {value!r}")
    return v


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512_BF16 or AMX-BF16).

    Asks PyTorch's own CPU feature check (``torch.cpu._is_avx512_bf16_supported`` and
    ``_is_amx_tile_supported``, private but present since 2.2) and falls back to the ``avx512_bf16`` /
    ``amx_bf16`` flags of ``/proc/cpuinfo``. Without them bf16 is emulated and slower than fp32.
    """
    checks = [getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if all(callable(c) for c in checks):
        try:
            return any(bool(c()) for c in checks)
        except RuntimeError:  # a build without the cpuinfo backend
            pass
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def default_precision() -> str:
    """The precision asked for when the caller gives none: the innermost :func:`use_precision`, else
    ``ENHANCERS_PRECISION``, else ``auto``.

    Raises:
        InvalidInputError: ``ENHANCERS_PRECISION`` holds something other than :data:`PRECISIONS`.
    """
    inner = _override.get()
    if inner is not None:
        return inner
    raw = os.environ.get(ENV_VAR, "").strip() or "auto"
    try:
        return check_precision(raw)
    except InvalidInputError as e:
        raise InvalidInputError(f"{ENV_VAR}: {e}") from None


@contextlib.contextmanager
def use_precision(value: str | None) -> Iterator[None]:
    """Within the block, models load with this precision (None: leave the default as it is).

    Raises:
        InvalidInputError: ``value`` is not one of :data:`PRECISIONS`.
    """
    if value is None:
        yield
        return
    token = _override.set(check_precision(value))
    try:
        yield
    finally:
        _override.reset(token)


def resolve_cpu_precision(requested: str | None, spec_allows_bf16: bool) -> str:
    """``"bf16"`` or ``"fp32"``: what a model runs in on CPU.

    Args:
        requested: one of :data:`PRECISIONS`; None uses :func:`default_precision`.
        spec_allows_bf16: the model's ``spec.cpu_bf16``; False always gives fp32.

    Raises:
        InvalidInputError: ``requested`` (or ``ENHANCERS_PRECISION``) is not one of :data:`PRECISIONS`.
    """
    want = default_precision() if requested is None else check_precision(requested)
    if not spec_allows_bf16 or want == "fp32":
        return "fp32"
    if want == "bf16":
        return "bf16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def dtype_name(dtype: torch.dtype) -> str:
    """``"fp32"``, ``"bf16"`` or ``"fp16"`` (else the dtype's own name)."""
    return _DTYPE_NAMES.get(dtype, str(dtype).removeprefix("torch."))


class _Fp32Layer(torch.nn.Module):
    """Runs the wrapped layer in fp32 inside a bf16 autocast region."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", enabled=False):
            return self.layer(x.float())


class _ChannelsLastPReLU(torch.nn.Module):
    """``nn.PReLU`` as max(x, 0) + w·min(x, 0) over the channels-last view (channels on the last, contiguous
    axis): the same values, about 2× faster in bf16 than aten's prelu kernel on channels_last tensors,
    which took more time than the convolutions in ``sr/compact-x4`` (torch 2.14 on AVX-512)."""

    def __init__(self, prelu: torch.nn.PReLU) -> None:
        super().__init__()
        self.weight = prelu.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype)
        if x.ndim != 4 or not x.is_contiguous(memory_format=torch.channels_last):
            return torch.nn.functional.prelu(x, w)
        v = x.permute(0, 2, 3, 1)
        return torch.addcmul(v.clamp_min(0), v.clamp_max(0), w).permute(0, 3, 1, 2)


class CpuBf16(torch.nn.Module):
    """A module run under ``torch.autocast("cpu", dtype=torch.bfloat16)`` in channels_last layout.

    Its weights stay fp32; its first and last ``Conv2d`` (in registration order) run in fp32, and its
    ``PReLU`` layers become :class:`_ChannelsLastPReLU` (same values, faster in this layout).
    4-D tensor arguments are switched to channels_last; floating-point tensor outputs come back as
    contiguous float32, so callers see the same contract as the wrapped module.
    """

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        convs = [name for name, m in inner.named_modules() if isinstance(m, torch.nn.Conv2d)]
        prelus = [name for name, m in inner.named_modules() if isinstance(m, torch.nn.PReLU)]
        for name in dict.fromkeys(convs[:1] + convs[-1:]):
            _replace(inner, name, _Fp32Layer)
        for name in prelus:
            _replace(inner, name, _ChannelsLastPReLU)
        self.inner = inner.to(memory_format=torch.channels_last)

    def forward(self, *args, **kwargs):
        args = tuple(_channels_last(a) for a in args)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = self.inner(*args, **kwargs)
        return _as_fp32(out)


def _replace(root: torch.nn.Module, name: str, wrap: type[torch.nn.Module]) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, wrap(getattr(parent, child)))


def _channels_last(x: object) -> object:
    if isinstance(x, torch.Tensor) and x.ndim == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def _as_fp32(out: object) -> object:
    if isinstance(out, torch.Tensor):
        return out.float().contiguous() if out.is_floating_point() else out
    if isinstance(out, tuple):
        return tuple(_as_fp32(o) for o in out)
    return out


_allocator_lock = threading.Lock()
_allocator_result: list[bool] = []

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 2**30


def tune_allocator() -> bool:
    """Keep large activation buffers in the process between tiles (glibc only); once per process.

    glibc serves blocks above its mmap threshold (128 KiB, rising dynamically to 32 MiB at most) with
    fresh ``mmap`` calls and trims freed heap above 128 KiB, so every tile maps, zero-fills and unmaps
    its activations again. ``mallopt(M_MMAP_THRESHOLD, 32 MiB)`` and ``mallopt(M_TRIM_THRESHOLD,
    1 GiB)`` reuse them (measured on ``sr/compact-x4``: fp32 0.18 → 0.27 MP/s). Call it at start-up,
    before torch allocates large buffers. ``GLIBC_TUNABLES`` set by the user is left alone.

    Returns:
        True when both thresholds were set (now or by an earlier call); False on other C libraries
        or when ``mallopt`` refused.
    """
    with _allocator_lock:
        if _allocator_result:
            return _allocator_result[0]
        ok = False
        if platform.libc_ver()[0] == "glibc" and "glibc.malloc" not in os.environ.get("GLIBC_TUNABLES", ""):
            try:
                libc = ctypes.CDLL("libc.so.6")
                ok = (libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
                      and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1)
            except (OSError, AttributeError):
                ok = False
        _allocator_result.append(ok)
        return ok
