"""Latent-space explorer: encode, decode, walk and sample 2-D VAE/AE and DCGAN latent spaces of MNIST digits.

Digit contract: float32 ``(N, 1, 28, 28)`` in [0, 1], white digit on black, as in
MNIST. Drawings and uploads enter through :func:`enhancers.imageio.open_image`
(RGB ``(1, 3, H, W)`` + optional alpha) and :func:`prepare_drawing` turns them
into that contract with MNIST's own preprocessing.

Models (``enhancers/registry.py``, loaded lazily through :func:`enhancers.loader.load_model`):

- ``latent/vae2d``: VAE, Kingma & Welling 2014, https://arxiv.org/abs/1312.6114
- ``latent/ae2d``: plain autoencoder with the same architecture (no KL term)
- ``latent/dcgan``: DCGAN generator, Radford et al. 2016, https://arxiv.org/abs/1511.06434
- ``latent/classifier``: small CNN that labels digits
"""

from __future__ import annotations

import json
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InvalidInputError, ModelUnavailableError
from .loader import load_model
from .registry import get_spec
from .specs import WEIGHTS_DIR

TASK = "latent"
VAE_ID = "latent/vae2d"
AE_ID = "latent/ae2d"
GAN_ID = "latent/dcgan"
CLASSIFIER_ID = "latent/classifier"
AUTOENCODERS = (VAE_ID, AE_ID)
GRID_EXTENT = 2.5
GRID_N = 15
MAX_FRAMES = 60
MAX_SAMPLES = 1000
HELDOUT_PATH = WEIGHTS_DIR / "mnist-heldout.npz"
METRICS_PATH = WEIGHTS_DIR / "latent-metrics.json"
_DIGIT_BOX = 20   # MNIST: the digit's longer side is scaled to 20 px ...
_CANVAS = 28      # ... and its centre of mass placed at the centre of 28×28
_INK = 0.1        # pixels below this (after polarity) count as background
_WORK_SIZE = 160  # drawings larger than this (px, longer side of the ink) are reduced first
_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
_SMALL_BATCH = 64  # up to this many digits run on one CPU thread (see _one_cpu_thread)
_lock = threading.Lock()


@dataclass(frozen=True)
class HeldOut:
    """The 500 held-out MNIST digits (50 per class, never trained on).

    Attributes:
        digits: float32 ``(500, 1, 28, 28)`` in [0, 1].
        labels: int64 ``(500,)``.
    """

    digits: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class LatentMap:
    """Held-out digits encoded into a 2-D latent plane.

    Attributes:
        model_id: the autoencoder that encoded them.
        codes: float32 ``(500, 2)``; the posterior mean for the VAE.
        labels: int64 ``(500,)`` true classes.
        extent: the plotted square is ``[−extent, extent]²`` (2.5 for the VAE, in units of
            the prior N(0, I); for the AE, the codes' 99th percentile of ``|z|`` plus 10%).
    """

    model_id: str
    codes: torch.Tensor
    labels: torch.Tensor
    extent: float


@dataclass(frozen=True)
class Grid:
    """Digits decoded on an ``n × n`` grid of latent points, row-major, top row = largest y.

    Attributes:
        digits: float32 ``(n·n, 1, 28, 28)`` in [0, 1].
        points: float32 ``(n·n, 2)`` latent coordinates of each cell.
        n: cells per side.
        extent: cells' centres span ``[−extent, extent]`` on both axes.
    """

    digits: torch.Tensor
    points: torch.Tensor
    n: int
    extent: float


@dataclass(frozen=True)
class Quality:
    """What the classifier reads in a set of generated digits.

    Attributes:
        n: number of digits.
        classes_covered: classes that are the argmax for at least one digit.
        confident_fraction: fraction read with confidence ≥ 0.9.
        class_counts: argmax counts per class 0–9.
        extent: grid extent (grids only, else 0).
        seed: noise seed (samples only, else 0).
    """

    n: int
    classes_covered: int
    confident_fraction: float
    class_counts: list[int]
    extent: float = 0.0
    seed: int = 0


# --- Models and data --------------------------------------------------------------------------------------------


def loaded_module(model_id: str) -> torch.nn.Module:
    """The ``nn.Module`` of a latent-task model, on CPU/GPU as the loader chose, eval mode.

    Raises:
        UnknownModelError, ModelUnavailableError; InvalidInputError for a model of another task.
    """
    spec = get_spec(model_id)
    if spec.task != TASK:
        raise InvalidInputError(f"{model_id} is a {spec.task} model; expected a latent-explorer model "
                                f"({VAE_ID}, {AE_ID}, {GAN_ID} or {CLASSIFIER_ID})")
    return load_model(model_id).module


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


@contextmanager
def _one_cpu_thread(active: bool):
    """Run a tiny CPU forward on one intra-op thread, then restore the previous count.

    A 28×28 digit gains nothing from more threads, and when another process keeps a
    core busy, OpenMP's barrier waits turn a 2 ms decode into 100+ ms.
    """
    if not active:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(module: torch.nn.Module, method: str, x: torch.Tensor):
    """Call ``module.method(x)`` on the module's device and dtype; results come back as float32 on CPU."""
    p = next(module.parameters())
    with torch.inference_mode(), _one_cpu_thread(p.device.type == "cpu" and x.shape[0] <= _SMALL_BATCH):
        out = getattr(module, method)(x.to(device=p.device, dtype=p.dtype))
    if isinstance(out, tuple):
        return tuple(None if o is None else o.float().cpu() for o in out)
    return out.float().cpu()


@lru_cache(maxsize=1)
def heldout() -> HeldOut:
    """The held-out digits shipped in ``weights/mnist-heldout.npz`` (read once).

    Raises:
        ModelUnavailableError: the file is missing.
    """
    if not HELDOUT_PATH.is_file():
        raise ModelUnavailableError(f"held-out digits missing: {HELDOUT_PATH} (run `make train-latent`)")
    with np.load(HELDOUT_PATH) as data:
        images, labels = data["images"], data["labels"]
    digits = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return HeldOut(digits=digits, labels=torch.from_numpy(labels.astype(np.int64)))


def metrics() -> dict | None:
    """Held-out metrics written by ``python -m enhancers.training latent --model cards``, or None."""
    if not METRICS_PATH.is_file():
        return None
    return json.loads(METRICS_PATH.read_text())


def check_digits(digits: torch.Tensor, name: str = "digits") -> None:
    """Validate the digit contract: float32 ``(N, 1, 28, 28)`` with values in [0, 1].

    Raises:
        InvalidInputError: wrong type, shape, dtype or range (the message gives expected vs given).
    """
    if not isinstance(digits, torch.Tensor):
        raise InvalidInputError(f"{name}: expected a torch.Tensor, got {type(digits).__name__}")
    if digits.ndim != 4 or tuple(digits.shape[1:]) != (1, 28, 28) or digits.shape[0] < 1:
        raise InvalidInputError(f"{name}: expected shape (N, 1, 28, 28), got {tuple(digits.shape)}")
    if digits.dtype != torch.float32:
        raise InvalidInputError(f"{name}: expected dtype float32, got {digits.dtype}")
    lo, hi = float(digits.min()), float(digits.max())
    if not (lo >= -1e-6 and hi <= 1 + 1e-6) or math.isnan(lo + hi):
        raise InvalidInputError(f"{name}: expected values in [0, 1], got [{lo:.3g}, {hi:.3g}]")


def _check_autoencoder(model_id: str) -> None:
    get_spec(model_id)  # an unknown id raises UnknownModelError listing the valid ones
    if model_id not in AUTOENCODERS:
        raise InvalidInputError(f"expected an autoencoder ({VAE_ID} or {AE_ID}), got {model_id!r}")


def _check_latents(z: torch.Tensor, dim: int, name: str = "latents") -> None:
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != dim or z.shape[0] < 1:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise InvalidInputError(f"{name}: expected a float tensor of shape (N, {dim}), got {got}")
    if not torch.isfinite(z).all():
        raise InvalidInputError(f"{name}: expected finite values, got NaN or infinity")


def _check_count(n: int, name: str, lo: int, hi: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) and not (isinstance(n, float) and n.is_integer()):
        raise InvalidInputError(f"{name}: expected an integer in [{lo}, {hi}], got {n!r}")
    if not lo <= int(n) <= hi:
        raise InvalidInputError(f"{name}: expected an integer in [{lo}, {hi}], got {int(n)}")
    return int(n)


# --- Encode / decode --------------------------------------------------------------------------------------------


def encode(digits: torch.Tensor, model_id: str = VAE_ID) -> torch.Tensor:
    """Encode digits ``(N, 1, 28, 28)`` float32 in [0, 1] to 2-D latents ``(N, 2)`` float32.

    For the VAE this is the posterior mean μ(x), in units of the prior N(0, I).

    Raises:
        InvalidInputError: digits off the contract, or ``model_id`` not an autoencoder.
    """
    check_digits(digits)
    _check_autoencoder(model_id)
    return _run(loaded_module(model_id), "encode", digits)[0]


def encode_point(digit: torch.Tensor, model_id: str = VAE_ID) -> tuple[float, float]:
    """One digit ``(1, 1, 28, 28)`` → its latent ``(x, y)``.

    Raises:
        InvalidInputError: not exactly one digit on the contract.
    """
    check_digits(digit, "digit")
    if digit.shape[0] != 1:
        raise InvalidInputError(f"digit: expected shape (1, 1, 28, 28), got {tuple(digit.shape)}")
    z = encode(digit, model_id)[0]
    return float(z[0]), float(z[1])


def decode_latents(z: torch.Tensor, model_id: str = VAE_ID) -> torch.Tensor:
    """Latents ``(N, 2)`` → digits float32 ``(N, 1, 28, 28)`` in [0, 1].

    Raises:
        InvalidInputError: wrong shape, non-finite values, or not an autoencoder id.
    """
    _check_autoencoder(model_id)
    _check_latents(z, 2)
    return _run(loaded_module(model_id), "decode", z.float())


def decode(x: float, y: float, model_id: str = VAE_ID) -> torch.Tensor:
    """Decode one latent point → digit float32 ``(1, 1, 28, 28)`` in [0, 1].

    For the VAE, ``(x, y)`` is in units of the prior N(0, I): most digits lie within ±2.5.

    Raises:
        InvalidInputError: ``x`` or ``y`` is not a finite number.
    """
    try:
        xf, yf = float(x), float(y)
    except (TypeError, ValueError):
        raise InvalidInputError(f"expected two numbers (x, y), got {x!r}, {y!r}") from None
    if not (math.isfinite(xf) and math.isfinite(yf)):
        raise InvalidInputError(f"expected finite coordinates, got ({xf}, {yf})")
    return decode_latents(torch.tensor([[xf, yf]]), model_id)


def reconstruct(digit: torch.Tensor, model_id: str = VAE_ID) -> tuple[torch.Tensor, tuple[float, float]]:
    """Encode then decode one digit ``(1, 1, 28, 28)``: ``(reconstruction (1, 1, 28, 28), (x, y))``."""
    point = encode_point(digit, model_id)
    return decode(*point, model_id), point


# --- Latent maps and grids --------------------------------------------------------------------------------------


def latent_map(model_id: str = VAE_ID) -> LatentMap:
    """The held-out digits encoded by ``model_id`` (an autoencoder), with their labels; cached per model.

    Raises:
        InvalidInputError: not an autoencoder id. ModelUnavailableError: weights or digits missing.
    """
    _check_autoencoder(model_id)
    with _lock:
        return _latent_map(model_id)


@lru_cache(maxsize=4)
def _latent_map(model_id: str) -> LatentMap:
    held = heldout()
    codes = encode(held.digits, model_id)
    if model_id == VAE_ID:
        extent = GRID_EXTENT
    else:
        extent = float(torch.quantile(codes.abs().flatten(), 0.99)) * 1.1
    return LatentMap(model_id=model_id, codes=codes, labels=held.labels, extent=round(extent, 2))


def decoded_grid(model_id: str = VAE_ID, n: int = GRID_N, extent: float | None = None) -> Grid:
    """Decode an ``n × n`` grid over ``[−extent, extent]²`` (default: the model's map extent).

    Returns:
        :class:`Grid`; digits float32 ``(n·n, 1, 28, 28)`` in [0, 1], top row at ``y = +extent``.

    Raises:
        InvalidInputError: ``n`` outside [2, 40], a non-positive extent, or not an autoencoder id.
    """
    _check_autoencoder(model_id)
    n = _check_count(n, "n", 2, 40)
    e = latent_map(model_id).extent if extent is None else float(extent)
    if not (math.isfinite(e) and e > 0):
        raise InvalidInputError(f"extent: expected a positive number, got {extent!r}")
    axis = torch.linspace(-e, e, n)
    ys, xs = torch.meshgrid(axis.flip(0), axis, indexing="ij")
    points = torch.stack([xs.flatten(), ys.flatten()], dim=1)
    return Grid(digits=decode_latents(points, model_id), points=points, n=n, extent=e)


# --- Classifier and quality -------------------------------------------------------------------------------------


def classify(digits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Label digits ``(N, 1, 28, 28)`` float32 in [0, 1] with ``latent/classifier``.

    Returns:
        ``(labels int64 (N,), confidence float32 (N,) in [0, 1])`` — the softmax argmax and its probability.

    Raises:
        InvalidInputError: digits off the contract.
    """
    check_digits(digits)
    module = loaded_module(CLASSIFIER_ID)
    probs = torch.cat([_run(module, "predict", digits[i:i + 512]) for i in range(0, len(digits), 512)])
    conf, labels = probs.max(dim=1)
    return labels, conf


def quality(digits: torch.Tensor) -> Quality:
    """Class coverage and ≥ 0.9-confidence fraction of generated digits ``(N, 1, 28, 28)``."""
    labels, conf = classify(digits)
    counts = torch.bincount(labels, minlength=10)
    return Quality(n=len(digits), classes_covered=int((counts > 0).sum()),
                   confident_fraction=float((conf >= 0.9).float().mean()), class_counts=counts.tolist())


def grid_quality(model_id: str = VAE_ID, n: int = GRID_N, extent: float | None = None) -> Quality:
    """:func:`quality` of the decoded grid (VAE default: 15 × 15 over [−2.5, 2.5]²)."""
    grid = decoded_grid(model_id, n, extent)
    q = quality(grid.digits)
    return Quality(q.n, q.classes_covered, q.confident_fraction, q.class_counts, extent=grid.extent)


def gan_quality(n: int = 500, seed: int = 0) -> Quality:
    """:func:`quality` of ``n`` GAN samples drawn with noise ``seed``."""
    q = quality(sample_gan(n, seed))
    return Quality(q.n, q.classes_covered, q.confident_fraction, q.class_counts, seed=seed)


# --- Interpolation and sampling ---------------------------------------------------------------------------------


def lerp(z0: torch.Tensor, z1: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` points on the straight line from ``z0`` to ``z1`` (both ``(D,)``), ends included: ``(n, D)``."""
    n = _check_count(n, "frames", 2, MAX_FRAMES)
    t = torch.linspace(0, 1, n).unsqueeze(1)
    return (1 - t) * z0.reshape(1, -1) + t * z1.reshape(1, -1)


def slerp(z0: torch.Tensor, z1: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` points of spherical interpolation from ``z0`` to ``z1`` (both ``(D,)``), ends included: ``(n, D)``.

    Interpolates the angle between the vectors (Shoemake 1985; White 2016,
    https://arxiv.org/abs/1609.04468): in a high-dimensional Gaussian almost all mass
    lies near the sphere of radius √D, and a straight line between two samples cuts
    through the low-norm interior that the GAN never saw. Falls back to :func:`lerp`
    for (anti)parallel vectors.
    """
    n = _check_count(n, "frames", 2, MAX_FRAMES)
    a, b = z0.reshape(-1).double(), z1.reshape(-1).double()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if float(torch.sin(omega).abs()) < 1e-6:
        return lerp(z0, z1, n)
    t = torch.linspace(0, 1, n, dtype=torch.float64).unsqueeze(1)
    out = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    return out.float()


def interpolate(a: torch.Tensor, b: torch.Tensor, frames: int = 10, model_id: str = VAE_ID) -> torch.Tensor:
    """Walk the autoencoder's latent line from digit ``a`` to digit ``b`` (each ``(1, 1, 28, 28)``).

    Linear interpolation between the two encodings, decoded.

    Returns:
        float32 ``(frames, 1, 28, 28)`` in [0, 1].

    Raises:
        InvalidInputError: digits off the contract, or ``frames`` outside [2, 60].
    """
    frames = _check_count(frames, "frames", 2, MAX_FRAMES)
    check_digits(a, "digit a")
    check_digits(b, "digit b")
    z = encode(torch.cat([a[:1], b[:1]]), model_id)
    return decode_latents(lerp(z[0], z[1], frames), model_id)


def gan_latent_dim() -> int:
    """Length of the GAN's noise vector."""
    return int(dict(get_spec(GAN_ID).arch_kwargs).get("latent_dim", 32))


def gan_noise(n: int, seed: int) -> torch.Tensor:
    """Reproducible noise ``(n, D) ~ N(0, I)`` for the GAN (CPU generator, so equal on every device)."""
    n = _check_count(n, "samples", 1, MAX_SAMPLES)
    seed = _check_count(seed, "seed", 0, 2**31 - 1)
    return torch.randn(n, gan_latent_dim(), generator=torch.Generator().manual_seed(seed))


def generate(z: torch.Tensor) -> torch.Tensor:
    """GAN noise ``(N, D)`` → digits float32 ``(N, 1, 28, 28)`` in [0, 1].

    Raises:
        InvalidInputError: ``z`` is not ``(N, D)`` with D the GAN's latent size.
    """
    _check_latents(z, gan_latent_dim(), "noise")
    return _run(loaded_module(GAN_ID), "generate", z.float())


def sample_gan(n: int = 16, seed: int = 0) -> torch.Tensor:
    """``n`` GAN samples from noise ``seed``: float32 ``(n, 1, 28, 28)`` in [0, 1]."""
    return generate(gan_noise(n, seed))


def sample_vae(n: int = 16, seed: int = 0) -> torch.Tensor:
    """``n`` VAE samples: ``z ~ N(0, I)`` (seeded) decoded; float32 ``(n, 1, 28, 28)`` in [0, 1]."""
    n = _check_count(n, "samples", 1, MAX_SAMPLES)
    seed = _check_count(seed, "seed", 0, 2**31 - 1)
    return decode_latents(torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)), VAE_ID)


def gan_interpolate(seed_a: int, seed_b: int, frames: int = 10) -> torch.Tensor:
    """Spherical walk between the GAN noise of two seeds: float32 ``(frames, 1, 28, 28)`` in [0, 1]."""
    frames = _check_count(frames, "frames", 2, MAX_FRAMES)
    return generate(slerp(gan_noise(1, seed_a)[0], gan_noise(1, seed_b)[0], frames))


# --- Drawings ---------------------------------------------------------------------------------------------------


def prepare_drawing(rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """Turn a drawing or photo of one digit into an MNIST-style digit, as MNIST itself was made.

    Grayscale; polarity from the border (light background → inverted) or, for a
    partly transparent sketch, ink = alpha; thin strokes thickened to about 1/9 of
    the digit's size; cropped to the ink's bounding box; longer side scaled to 20 px
    (antialiased); pasted in 28 × 28 with its centre of mass at the centre
    (LeCun et al., http://yann.lecun.com/exdb/mnist/).

    Args:
        rgb: float32 ``(1, 3, H, W)`` in [0, 1] (from :func:`enhancers.imageio.open_image`).
        alpha: float32 ``(1, 1, H, W)`` in [0, 1], or None.

    Returns:
        float32 ``(1, 1, 28, 28)`` in [0, 1], white digit on black, peak 1.

    Raises:
        InvalidInputError: wrong shapes, or no ink at all (an empty sketch).
    """
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 4 or rgb.shape[:2] != (1, 3):
        got = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise InvalidInputError(f"drawing: expected RGB of shape (1, 3, H, W), got {got}")
    gray = (rgb.float().cpu() * _LUMA).sum(dim=1, keepdim=True)
    if alpha is not None:
        if alpha.shape != (1, 1, *rgb.shape[-2:]):
            raise InvalidInputError(f"alpha: expected shape (1, 1, {rgb.shape[-2]}, {rgb.shape[-1]}), "
                                    f"got {tuple(alpha.shape)}")
        alpha = alpha.float().cpu()
    if alpha is not None and float(alpha.min()) < 0.99:
        ink = alpha  # strokes on a transparent canvas: whatever was painted is ink, in any colour
    else:
        border = torch.cat([gray[0, 0, 0], gray[0, 0, -1], gray[0, 0, :, 0], gray[0, 0, :, -1]])
        ink = 1.0 - gray if float(border.median()) > 0.5 else gray
    ink = ink.clamp(0, 1)
    with _one_cpu_thread(True):
        return _mnist_frame(ink)


def _mnist_frame(ink: torch.Tensor) -> torch.Tensor:
    """Ink ``(1, 1, H, W)`` in [0, 1] → the 28×28 MNIST framing (see :func:`prepare_drawing`)."""
    mask = ink[0, 0] > _INK
    if not bool(mask.any()):
        raise InvalidInputError("the drawing is empty: expected a digit (dark strokes on a light background "
                                "or light on dark), got a blank image")
    top, bottom, left, right = _bbox(mask)
    size = max(bottom - top, right - left)
    margin = size // 8 + 2  # room for the strokes to grow in _thicken
    crop = F.pad(ink[:, :, top:bottom, left:right], (margin, margin, margin, margin))
    if size > _WORK_SIZE:  # big uploads: work at ~160 px, plenty for a 20-px result
        f = _WORK_SIZE / size
        crop = F.interpolate(crop, size=(max(1, round(crop.shape[-2] * f)), max(1, round(crop.shape[-1] * f))),
                             mode="bilinear", antialias=True, align_corners=False)
        size = _WORK_SIZE
    crop = _thicken(crop, crop[0, 0] > _INK, size)
    top, bottom, left, right = _bbox(crop[0, 0] > _INK)
    crop = crop[:, :, top:bottom, left:right]
    h, w = crop.shape[-2:]
    s = _DIGIT_BOX / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = F.interpolate(crop, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    small = small / small.max().clamp_min(1e-6)
    ys, xs = torch.arange(nh, dtype=torch.float32), torch.arange(nw, dtype=torch.float32)
    total = small.sum()
    cy = float((small[0, 0].sum(dim=1) * ys).sum() / total)
    cx = float((small[0, 0].sum(dim=0) * xs).sum() / total)
    oy = min(max(round(_CANVAS / 2 - 0.5 - cy), 0), _CANVAS - nh)
    ox = min(max(round(_CANVAS / 2 - 0.5 - cx), 0), _CANVAS - nw)
    out = torch.zeros(1, 1, _CANVAS, _CANVAS)
    out[:, :, oy:oy + nh, ox:ox + nw] = small
    return out


def _bbox(mask: torch.Tensor) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` (end-exclusive) of the True pixels of a non-empty 2-D mask."""
    rows, cols = torch.nonzero(mask.any(dim=1)).flatten(), torch.nonzero(mask.any(dim=0)).flatten()
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _thicken(ink: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """Dilate strokes thinner than ~size/9 (MNIST's pen: ~2.2 px in a 20-px box).

    Stroke width ≈ 2 · area / boundary length for a long thin stroke.
    """
    area = float(mask.sum())
    m = mask.float()[None, None]
    interior = -F.max_pool2d(-m, 3, stride=1, padding=1)
    boundary = float((m - interior).sum())
    width = 2.0 * area / max(boundary, 1.0)
    target = size / 9.0
    if width >= target:
        return ink
    k = int(round(target - width)) | 1
    return F.max_pool2d(ink, k, stride=1, padding=k // 2)
