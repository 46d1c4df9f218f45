"""Image quality metrics: PSNR and SSIM on Y (as SR papers report them) and on RGB, and PSNR-B.

Inputs follow the library contract: RGB float32 ``(1, 3, H, W)`` in [0, 1].
Both images are quantised to 8 bits first, as saved files would be.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import correlate
from scipy.special import gamma
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .errors import InvalidInputError, ModelUnavailableError
from .imageio import check_image_tensor, to_uint8_hwc
from .perceptual import LPIPS, lpips, lpips_model  # noqa: F401  (re-exported: LPIPS lives in perceptual.py)
from .specs import WEIGHTS_DIR


def y_channel(rgb: torch.Tensor) -> np.ndarray:
    """ITU-R BT.601 luma of an 8-bit-quantised image, float64 ``(H, W)`` in [16, 235]."""
    check_image_tensor(rgb)
    return rgb2ycbcr(to_uint8_hwc(rgb))[..., 0]


def _pair(a: torch.Tensor, b: torch.Tensor, shave: int) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    ya, yb = y_channel(a), y_channel(b)
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    return ya, yb


def psnr_y(output: torch.Tensor, reference: torch.Tensor, shave: int = 0) -> float:
    """PSNR in dB on Y (BT.601), with ``shave`` border pixels removed (the scale factor, by convention).

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    ya, yb = _pair(output, reference, shave)
    return float(peak_signal_noise_ratio(yb, ya, data_range=255))


def ssim_y(output: torch.Tensor, reference: torch.Tensor, shave: int = 0) -> float:
    """SSIM on Y (BT.601) with the Gaussian window of Wang et al. 2004 (σ = 1.5)."""
    ya, yb = _pair(output, reference, shave)
    return float(structural_similarity(yb, ya, data_range=255, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def _rgb_pair(a: torch.Tensor, b: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    check_image_tensor(a)
    check_image_tensor(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    return to_uint8_hwc(a).astype(np.float64), to_uint8_hwc(b).astype(np.float64)


def psnr_rgb(output: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB over all RGB values of the 8-bit-quantised images (denoising and JPEG papers' colour PSNR).

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    a, b = _rgb_pair(output, reference)
    return float(peak_signal_noise_ratio(b, a, data_range=255))


def ssim_rgb(output: torch.Tensor, reference: torch.Tensor) -> float:
    """SSIM averaged over the R, G and B channels, Gaussian window (σ = 1.5) of Wang et al. 2004."""
    a, b = _rgb_pair(output, reference)
    return float(structural_similarity(b, a, data_range=255, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def blocking_effect_factor(image: np.ndarray, block: int = 8) -> float:
    """Blocking effect factor (BEF) of Yim & Bovik 2011, https://doi.org/10.1109/TIP.2010.2092435.

    ``image`` is float ``(H, W)`` or ``(H, W, C)`` on the 0–255 scale; for colour the
    channels' BEFs are averaged. BEF = η·(D_B − D_B^c) when positive, where D_B is the
    mean squared difference of neighbouring pixels across block boundaries, D_B^c the
    same across the other pixel pairs, and η = log2(block) / log2(min(H, W)).
    """
    if image.ndim == 3:
        return float(np.mean([blocking_effect_factor(image[..., c], block) for c in range(image.shape[2])]))
    h, w = image.shape
    dh = np.diff(image, axis=1) ** 2  # pairs (x, x+1): column boundary after column x
    dv = np.diff(image, axis=0) ** 2
    col_b = (np.arange(w - 1) % block) == block - 1
    row_b = (np.arange(h - 1) % block) == block - 1
    boundary = np.concatenate([dh[:, col_b].ravel(), dv[row_b, :].ravel()])
    other = np.concatenate([dh[:, ~col_b].ravel(), dv[~row_b, :].ravel()])
    if boundary.size == 0 or other.size == 0:
        return 0.0
    d_b, d_bc = boundary.mean(), other.mean()
    eta = np.log2(block) / np.log2(min(h, w)) if d_b > d_bc else 0.0
    return float(eta * (d_b - d_bc))


def psnr_b(output: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR-B in dB (Yim & Bovik 2011): PSNR with the output's blocking effect factor added to the MSE.

    Computed over RGB on the 8-bit-quantised images, 8×8 blocks aligned to the top-left corner.

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    a, b = _rgb_pair(output, reference)
    mse = float(np.mean((a - b) ** 2)) + blocking_effect_factor(a)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


# NIQE (Mittal, Soundararajan & Bovik 2013, "Making a completely blind image quality analyzer", IEEE SPL 20(3),
# https://doi.org/10.1109/LSP.2012.2227726). The pristine model is LIVE's, as converted by BasicSR (weights/niqe.md).
NIQE_PARAMS_ENV = "ENHANCERS_NIQE_PARAMS"
NIQE_PARAMS_FILE = "niqe_pris_params.npz"
NIQE_BLOCK = 96
# px per side below which NIQE's Gaussian is fitted to fewer than 4×4 blocks, and its score swings by whole units
NIQE_RELIABLE_SIDE = 4 * NIQE_BLOCK
_NIQE_PARAMS_DIRS = (WEIGHTS_DIR, WEIGHTS_DIR.parent.parent / "shared" / "data")  # repo copy, then CI's shared folder
# Keys' cubic kernel (a = −0.5) stretched ×2 for antialiasing: MATLAB's imresize(·, 0.5), as the reference uses.
_HALF_BICUBIC = np.array([-0.0234375, -0.0703125, 0.2265625, 0.8671875,
                          0.8671875, 0.2265625, -0.0703125, -0.0234375]) / 2
_niqe_lock = threading.Lock()
_niqe_model: dict[str, np.ndarray] = {}


def niqe_params_path() -> Path:
    """Where the pristine NIQE model is read from: ``$ENHANCERS_NIQE_PARAMS``, else ``weights/``, else
    ``../shared/data/`` next to the repository.

    Raises:
        ModelUnavailableError: the file is in none of these places.
    """
    override = os.environ.get(NIQE_PARAMS_ENV, "").strip()
    if override:
        if Path(override).is_file():
            return Path(override)
        raise ModelUnavailableError(f"{NIQE_PARAMS_ENV}={override} is not a file; it should name the pristine "
                                    f"NIQE model {NIQE_PARAMS_FILE}")
    for path in (d / NIQE_PARAMS_FILE for d in _NIQE_PARAMS_DIRS):
        if path.is_file():
            return path
    raise ModelUnavailableError(
        f"the pristine NIQE model {NIQE_PARAMS_FILE} is in none of {', '.join(map(str, _NIQE_PARAMS_DIRS))}; "
        f"set {NIQE_PARAMS_ENV} to its path")


def _niqe_params() -> dict[str, np.ndarray]:
    with _niqe_lock:
        if not _niqe_model:
            path = niqe_params_path()
            try:
                with np.load(path, allow_pickle=False) as f:
                    params = {k: np.asarray(f[k], dtype=np.float64)
                              for k in ("mu_pris_param", "cov_pris_param", "gaussian_window")}
            except (OSError, ValueError, KeyError) as e:
                raise ModelUnavailableError(f"cannot read the pristine NIQE model {path}: {e}") from e
            _niqe_model.update(params)
        return _niqe_model


@functools.cache
def _aggd_ratio_table() -> tuple[np.ndarray, np.ndarray]:
    """Shape grid α = 0.2, 0.201, …, 10 and the moment ratio Γ(2/α)² / (Γ(1/α)·Γ(3/α)) of each."""
    alpha = np.arange(0.2, 10.001, 0.001)
    return alpha, gamma(2 / alpha) ** 2 / (gamma(1 / alpha) * gamma(3 / alpha))


def _aggd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moment-matching fit of an asymmetric generalised Gaussian to each row of ``x`` (Lasmar et al. 2009).

    Returns the shape α and the left and right scales β_l, β_r, one per row (NaN where a side is empty).
    """
    neg, pos = x < 0, x > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.sqrt((x ** 2 * neg).sum(1) / neg.sum(1))
        right = np.sqrt((x ** 2 * pos).sum(1) / pos.sum(1))
        g = left / right
        r_hat = np.abs(x).mean(1) ** 2 / (x ** 2).mean(1)
        r_norm = r_hat * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
    grid, ratio = _aggd_ratio_table()
    alpha = grid[np.argmin((ratio[None, :] - r_norm[:, None]) ** 2, axis=1)]
    alpha = np.where(np.isnan(r_norm), np.nan, alpha)
    scale = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, left * scale, right * scale


def _block_features(mscn: np.ndarray, block: int) -> np.ndarray:
    """The 18 NIQE features of each ``block``×``block`` tile of an MSCN map, ``(n_blocks, 18)``."""
    nh, nw = mscn.shape[0] // block, mscn.shape[1] // block
    tiles = mscn[:nh * block, :nw * block].reshape(nh, block, nw, block).swapaxes(1, 2).reshape(-1, block, block)
    alpha, bl, br = _aggd_fit(tiles.reshape(len(tiles), -1))
    feats = [alpha, (bl + br) / 2]
    # Products with the neighbour to the right, below, and on both diagonals (circular within the tile).
    for shift in ((0, 1), (1, 0), (1, 1), (-1, 1)):
        pairs = tiles * np.roll(tiles, shift, axis=(1, 2))
        alpha, bl, br = _aggd_fit(pairs.reshape(len(tiles), -1))
        mean = (br - bl) * gamma(2 / alpha) / gamma(1 / alpha)
        feats += [alpha, mean, bl, br]
    return np.stack(feats, axis=1)


def _mscn(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (paper Eq. 1, C = 1), edges replicated."""
    mu = correlate(image, window, mode="nearest")
    sigma = np.sqrt(np.abs(correlate(image * image, window, mode="nearest") - mu * mu))
    centred = image - mu
    # A flat neighbourhood is exactly 0, not ±1e-14 of rounding that the AGGD fit would count on one side.
    centred[np.abs(centred) < 1e-8] = 0
    return centred / (sigma + 1)


def _half_size_bicubic(image: np.ndarray) -> np.ndarray:
    """Antialiased bicubic ↓2 of an even-sized image, edges mirrored (MATLAB ``imresize(·, 0.5)``)."""
    for axis in (0, 1):
        n = image.shape[axis] // 2
        pad = [(0, 0), (0, 0)]
        pad[axis] = (3, 4)
        padded = np.pad(image, pad, mode="symmetric")
        image = sum(w * np.take(padded, np.arange(t, t + 2 * n, 2), axis=axis) for t, w in enumerate(_HALF_BICUBIC))
    return image


def niqe(rgb: torch.Tensor) -> float:
    """NIQE of Mittal, Soundararajan & Bovik 2013: a no-reference naturalness score, lower is more natural.

    ``rgb`` is RGB float32 ``(1, 3, H, W)`` in [0, 1], both sides at least 96 px. As in LIVE's reference and
    BasicSR, the score is computed on the 8-bit BT.601 luma (Y on 16–235, rounded), cropped to whole 96×96
    blocks: 18 features per block (the AGGD fit of the MSCN coefficients and of their products with the
    four neighbours) at full and half size (bicubic), a Gaussian fitted to all blocks, and its distance
    sqrt((μ₁−μ₂)ᵀ((Σ₁+Σ₂)/2)⁺(μ₁−μ₂)) to the pristine model.

    Raises:
        InvalidInputError: not ``(1, 3, H, W)``, or smaller than 96×96.
        ModelUnavailableError: the pristine model file is missing (see :func:`niqe_params_path`).
    """
    check_image_tensor(rgb)
    h, w = rgb.shape[-2:]
    if min(h, w) < NIQE_BLOCK:
        raise InvalidInputError(f"NIQE needs at least {NIQE_BLOCK}×{NIQE_BLOCK} pixels, got {w}×{h}")
    params = _niqe_params()
    y = y_channel(rgb).round()
    y = y[:h // NIQE_BLOCK * NIQE_BLOCK, :w // NIQE_BLOCK * NIQE_BLOCK]
    full = _block_features(_mscn(y, params["gaussian_window"]), NIQE_BLOCK)
    half = _block_features(_mscn(_half_size_bicubic(y), params["gaussian_window"]), NIQE_BLOCK // 2)
    feats = np.concatenate([full, half], axis=1)
    mu = np.nanmean(feats, axis=0)
    complete = feats[~np.isnan(feats).any(axis=1)]  # MATLAB's nancov drops incomplete rows
    cov = np.cov(complete, rowvar=False) if len(complete) > 1 else np.zeros((feats.shape[1],) * 2)
    d = params["mu_pris_param"].ravel() - mu
    return float(np.sqrt(d @ np.linalg.pinv((params["cov_pris_param"] + cov) / 2) @ d))


def quality_scores(output: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
    """RGB PSNR (dB), RGB SSIM, LPIPS-Alex (against ``reference``) and NIQE (of ``output`` alone; NaN when a
    side is under :data:`NIQE_BLOCK` px): the four numbers the enhancement report and classroom show.

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    return {"psnr": psnr_rgb(output, reference), "ssim": ssim_rgb(output, reference),
            "lpips": lpips(output, reference),
            "niqe": niqe(output) if min(output.shape[-2:]) >= NIQE_BLOCK else float("nan")}
