"""Which model each tab starts with, chosen by the hardware, and the hardware line in the app's header.

On a GPU (a CUDA machine, or a ZeroGPU Space whose model calls run under ``@spaces.GPU``) the heavy Hub models
are the defaults where a tab has one: they are what the GPU is for, and a GPU runs them in well under a second.
On a CPU (a Space's free "CPU Basic", a laptop) the bundled models are: they are small, trained for that, and work
with no network. The choice is the pure function :func:`default_model` of the hardware kind, so it is tested
without a GPU; :func:`detect_hardware` is the only part that looks at the machine.

One table, :data:`DEFAULTS`, ``tab: (on CPU, on a GPU)``:

=========  ======================  ===========================================================
Tab        CPU (bundled)           GPU (Hub)
=========  ======================  ===========================================================
sr         ``sr/compact-x2``       ``sr/realesrgan-x4plus`` (the tab then starts at ×4)
enhance    ``enhance/distilled-x2``  ``enhance/realesrgan-x4plus``
denoise    ``denoise/unet``        ``denoise/drunet-color``
dejpeg     ``dejpeg/fbcnn-lite``   ``dejpeg/fbcnn-color``
color      ``color/unet``          ``color/ddcolor-tiny`` (its card carries the licence caveat)
=========  ======================  ===========================================================

The Style tab keeps ``gatys/vgg16`` and the bundled fast styles everywhere (the Hub's fast styles are other
styles, not better ones), and the Latent explorer has no Hub models. With ``offline=True`` (``HF_HUB_OFFLINE``) a
GPU keeps a Hub default only when the model runs without a download (:attr:`ModelSpec.has_offline_copy`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InvalidInputError
from .registry import get_spec

KINDS = ("cpu", "cuda", "zerogpu")
"""Hardware kinds: ``cpu``; ``cuda``, a GPU held by the process; ``zerogpu``, a Space's GPU lent per call."""

DEFAULTS: dict[str, tuple[str, str]] = {
    "sr": ("sr/compact-x2", "sr/realesrgan-x4plus"),
    "enhance": ("enhance/distilled-x2", "enhance/realesrgan-x4plus"),
    "denoise": ("denoise/unet", "denoise/drunet-color"),
    "dejpeg": ("dejpeg/fbcnn-lite", "dejpeg/fbcnn-color"),
    "color": ("color/unet", "color/ddcolor-tiny"),
}
"""``tab: (default on CPU, default on a GPU)``."""


@dataclass(frozen=True)
class Hardware:
    """What the app runs on.

    Attributes:
        kind: one of :data:`KINDS`.
        name: the GPU's name (``"NVIDIA H100 80GB HBM3"``), empty on CPU and on ZeroGPU (the GPU is lent per call).
        threads: torch's CPU threads (intra-op), ≥ 1.
        precision: what the models run in by default: ``"fp16"`` (GPU), ``"bf16"`` (CPUs with native bf16, for
            the models measured to allow it; the others stay fp32) or ``"fp32"``.
    """

    kind: str
    name: str = ""
    threads: int = 1
    precision: str = "fp32"

    @property
    def gpu(self) -> bool:
        """True on ``cuda`` and ``zerogpu``."""
        return self.kind in ("cuda", "zerogpu")


def default_model(tab: str, kind: str, offline: bool = False) -> str:
    """The model ``tab`` starts with on hardware ``kind`` (a pure function of its arguments and the registry).

    Args:
        tab: a key of :data:`DEFAULTS`.
        kind: one of :data:`KINDS`.
        offline: no Hub downloads (``HF_HUB_OFFLINE``): a GPU keeps its Hub default only if the model has an
            offline copy, else it falls back to the bundled one.

    Returns:
        A registered model id.

    Raises:
        InvalidInputError: unknown ``tab`` or ``kind``.
    """
    if tab not in DEFAULTS:
        raise InvalidInputError(f"no default model for tab {tab!r}; tabs: {', '.join(DEFAULTS)}")
    if kind not in KINDS:
        raise InvalidInputError(f"hardware kind must be one of {', '.join(KINDS)}, got {kind!r}")
    cpu, gpu = DEFAULTS[tab]
    if kind == "cpu" or (offline and not get_spec(gpu).has_offline_copy):
        return cpu
    return gpu


def default_models(kind: str, offline: bool = False) -> dict[str, str]:
    """:func:`default_model` for every tab of :data:`DEFAULTS`."""
    return {tab: default_model(tab, kind, offline) for tab in DEFAULTS}


def sr_default_scale(kind: str, offline: bool = False) -> int:
    """The Super-resolution tab's starting scale factor: its default model's own (2 on CPU, 4 for Real-ESRGAN)."""
    return get_spec(default_model("sr", kind, offline)).scale


def describe_hardware(hw: Hardware) -> str:
    """The header line, e.g. ``"CPU · 2 threads · bf16"``, ``"CUDA · NVIDIA H100 80GB HBM3 · fp16"`` or
    ``"ZeroGPU · GPU lent per run · fp16"``."""
    if hw.kind == "cpu":
        return f"CPU · {hw.threads} thread{'s' if hw.threads != 1 else ''} · {hw.precision}"
    if hw.kind == "zerogpu":
        return f"ZeroGPU · GPU lent per run · {hw.precision}"
    return f"CUDA · {hw.name or 'GPU'} · {hw.precision}"


def hub_offline() -> bool:
    """Whether Hub downloads are switched off (``HF_HUB_OFFLINE`` set to a true value)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def detect_hardware() -> Hardware:
    """Look at this machine: ZeroGPU (the ``SPACES_ZERO_GPU`` variable a ZeroGPU Space sets), else the device
    :func:`enhancers.device.pick_device` picks (``ENHANCERS_DEVICE`` overrides). On CPU, sets torch's thread count
    as the first model load would (:func:`enhancers.device.configure_cpu_threads`).

    Raises:
        InvalidInputError: ``ENHANCERS_PRECISION`` is not a valid precision.
    """
    import torch

    from .device import configure_cpu_threads, pick_device
    from .precision import default_precision, resolve_cpu_precision

    threads = torch.get_num_threads()
    gpu_precision = "fp32" if default_precision() == "fp32" else "fp16"
    if os.environ.get("SPACES_ZERO_GPU", "").strip():
        return Hardware("zerogpu", threads=threads, precision=gpu_precision)
    device = pick_device()
    if device.type == "cuda":
        return Hardware("cuda", torch.cuda.get_device_name(device), threads, gpu_precision)
    return Hardware("cpu", threads=configure_cpu_threads(), precision=resolve_cpu_precision(None, True))

