"""Device, dtype and thread-count choice."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_threads_set = threading.Event()
_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None
_held = threading.local()


def compute_slots() -> int:
    """How many model runs may compute at once in this process: ``ENHANCERS_COMPUTE_SLOTS``, else 2 on CUDA
    and 1 on CPU (one run already uses every core)."""
    raw = os.environ.get("ENHANCERS_COMPUTE_SLOTS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return 2 if pick_device().type == "cuda" else 1


@contextmanager
def compute_slot() -> Iterator[None]:
    """Hold one of the process's :func:`compute_slots` while a model computes (re-entrant in one thread).

    A server can then accept more requests than it computes at once: one waiting on a Hub download or on
    file I/O holds no slot, and the others keep computing.
    """
    global _slots
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(compute_slots())
    with _slots:
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0


def pick_device() -> torch.device:
    """CUDA when available (``ENHANCERS_DEVICE`` overrides, e.g. ``cpu``), else CPU."""
    want = os.environ.get("ENHANCERS_DEVICE", "").strip()
    if want:
        return torch.device(want)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(device: torch.device, supports_half: bool, supports_bfloat16: bool) -> torch.dtype:
    """fp16 (or bf16) on CUDA where the model supports it; fp32 on CPU."""
    if device.type != "cuda":
        return torch.float32
    if supports_half:
        return torch.float16
    if supports_bfloat16 and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def configure_cpu_threads(threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads, once per process unless ``threads`` is given.

    ``threads`` when given; else ``OMP_NUM_THREADS`` when set (Ray sets it to an actor's CPUs); else one
    thread per physical core, at most 8. Returns the thread count in effect.
    """
    if threads is not None:
        torch.set_num_threads(max(1, threads))
        _threads_set.set()
    elif not _threads_set.is_set():
        omp = os.environ.get("OMP_NUM_THREADS", "").strip()
        if omp.isdigit() and int(omp) > 0:
            n = int(omp)
        else:
            n = os.cpu_count() or 1
            try:
                import psutil

                n = psutil.cpu_count(logical=False) or n
            except ImportError:  # psutil is a runtime requirement; stay usable without it
                pass
            n = min(8, n)
        torch.set_num_threads(max(1, n))
        _threads_set.set()
    return torch.get_num_threads()


def free_memory_bytes(device: torch.device) -> int:
    """Memory available for activations on ``device`` (bytes)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)
