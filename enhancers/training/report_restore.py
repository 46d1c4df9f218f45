"""Held-out evaluation of the denoising and JPEG models, and their model cards.

Denoising: held-out photos prepared as for SR (↓2 Lanczos, centre crop 512), Gaussian
noise σ = 25 and 50 by the noise protocol (seed 0), RGB PSNR/SSIM of non-local means,
CBM3D (the ``bm3d`` package, PyPI; cached in ``runs/cbm3d-cache.json`` because it is
slow), the bundled model told σ, and the bundled model in blind mode.

JPEG: the same photos saved with Pillow at q = 10 and 30; RGB PSNR, SSIM and PSNR-B of
the JPEG and of the restoration; and the QF prediction error for q = 10, 20, …, 90.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .. import imageio
from ..degrade import add_gaussian_noise
from ..metrics import psnr_b, psnr_rgb, ssim_rgb
from ..specs import WEIGHTS_DIR
from . import data
from .cards import CPU_PRECISION_HEADING, append_section, existing_section, run_or_stored

CBM3D_CACHE = Path("runs/cbm3d-cache.json")
SIGMAS = (25, 50)
QUALITIES = (10, 30)
QF_SWEEP = tuple(range(10, 100, 10))


def cbm3d(noisy: torch.Tensor, sigma: float) -> torch.Tensor:
    """CBM3D (Dabov et al. 2007) from the ``bm3d`` package, told the true σ."""
    import bm3d

    arr = imageio.to_uint8_hwc(noisy).astype(np.float32) / 255
    return imageio.numpy_to_tensor(np.clip(bm3d.bm3d_rgb(arr, sigma / 255), 0, 1))


def fill_cbm3d_cache(photos=None) -> dict:
    """Compute CBM3D's PSNR/SSIM for every held-out photo and σ not yet in the cache."""
    cache = json.loads(CBM3D_CACHE.read_text()) if CBM3D_CACHE.exists() else {}
    for p in photos or data.split().heldout:
        clean = data.prepare_hr(Path(p), crop=512, multiple=8)
        for s in SIGMAS:
            key = f"{Path(p).name}|{s}"
            if key in cache:
                continue
            out = cbm3d(add_gaussian_noise(clean, s, seed=0), s)
            cache[key] = {"psnr": psnr_rgb(out, clean), "ssim": ssim_rgb(out, clean)}
            CBM3D_CACHE.parent.mkdir(parents=True, exist_ok=True)
            CBM3D_CACHE.write_text(json.dumps(cache, indent=1))
    return cache


def _mean(rows: list[dict], key: str) -> float:
    return round(float(np.mean([r[key] for r in rows])), 3)


@torch.no_grad()
def denoise_table(model_id: str = "denoise/unet", photos=None, with_cbm3d: bool = True) -> dict:
    from ..denoise import denoise, estimate_sigma

    cache = json.loads(CBM3D_CACHE.read_text()) if CBM3D_CACHE.exists() else {}
    rows = []
    for p in photos or data.split().heldout:
        clean = data.prepare_hr(Path(p), crop=512, multiple=8)
        for s in SIGMAS:
            noisy = add_gaussian_noise(clean, s, seed=0)
            row = {"photo": Path(p).name, "sigma": s, "noisy_psnr": psnr_rgb(noisy, clean)}
            for name, out in (("nlm", denoise(noisy, "denoise/nlm", s)[0]), ("model", denoise(noisy, model_id, s)[0])):
                row[f"{name}_psnr"], row[f"{name}_ssim"] = psnr_rgb(out, clean), ssim_rgb(out, clean)
            if s == 25:
                est = estimate_sigma(noisy)
                blind, used = denoise(noisy, model_id, None)
                row["sigma_est"], row["blind_psnr"] = round(est, 2), psnr_rgb(blind, clean)
            if with_cbm3d:
                key = f"{Path(p).name}|{s}"
                if key not in cache:
                    cache = fill_cbm3d_cache([p])
                row["cbm3d_psnr"], row["cbm3d_ssim"] = cache[key]["psnr"], cache[key]["ssim"]
            rows.append(row)
    summary = {}
    for s in SIGMAS:
        sub = [r for r in rows if r["sigma"] == s]
        summary[str(s)] = {k: _mean(sub, k) for k in sub[0] if k not in ("photo", "sigma")}
    return {"model": model_id, "photos": len(rows) // len(SIGMAS), "mean": summary, "rows": rows}


@torch.no_grad()
def dejpeg_table(model_id: str = "dejpeg/fbcnn-lite", photos=None) -> dict:
    from ..dejpeg import dejpeg
    from ..loader import load_model
    from ..dejpeg import estimate_quality_dct, predict_quality

    rows, qf_rows = [], []
    loaded = load_model(model_id)
    for p in photos or data.split().heldout:
        clean = data.prepare_hr(Path(p), crop=512, multiple=8)
        for q in QUALITIES:
            jpg = imageio.jpeg_compress(clean, q)
            out, info = dejpeg(jpg, model_id)
            rows.append({"photo": Path(p).name, "quality": q, "predicted_qf": info.predicted,
                         "jpeg_psnr": psnr_rgb(jpg, clean), "jpeg_ssim": ssim_rgb(jpg, clean),
                         "jpeg_psnrb": psnr_b(jpg, clean), "model_psnr": psnr_rgb(out, clean),
                         "model_ssim": ssim_rgb(out, clean), "model_psnrb": psnr_b(out, clean)})
        for q in QF_SWEEP:
            jpg = imageio.jpeg_compress(clean, q)
            qf_rows.append({"photo": Path(p).name, "quality": q, "predicted": round(predict_quality(loaded, jpg), 1),
                            "dct": estimate_quality_dct(jpg)})
    summary = {}
    for q in QUALITIES:
        sub = [r for r in rows if r["quality"] == q]
        summary[str(q)] = {k: _mean(sub, k) for k in sub[0] if k not in ("photo", "quality")}
    errors = {str(q): round(float(np.mean([abs(r["predicted"] - q) for r in qf_rows if r["quality"] == q])), 2)
              for q in QF_SWEEP}
    worst = max(abs(r["predicted"] - r["quality"]) for r in qf_rows)
    within = float(np.mean([abs(r["predicted"] - r["quality"]) <= 10 for r in qf_rows]))
    found = [r for r in qf_rows if r["dct"] is not None]
    dct = {"found": f"{len(found)}/{len(qf_rows)}",
           "mean_abs_error": round(float(np.mean([abs(r["dct"] - r["quality"]) for r in found])), 2) if found else None,
           "worst_abs_error": max((abs(r["dct"] - r["quality"]) for r in found), default=None),
           "within_10": round(float(np.mean([abs(r["dct"] - r["quality"]) <= 10 for r in found])), 3) if found else None}
    return {"model": model_id, "photos": len(rows) // len(QUALITIES), "mean": summary,
            "qf_mean_abs_error": errors, "qf_worst_abs_error": round(worst, 1), "qf_within_10": round(within, 3),
            "dct_quality": dct, "rows": rows, "qf_rows": qf_rows}


CARD_RUNS = ("denoise-unet", "dejpeg-fbcnn-lite")  # run folders under runs/ whose summaries the cards show
CARDS = tuple(f"{name}.md" for name in CARD_RUNS)


def _stage_fields(summary: dict) -> dict:
    c = summary.get("config", {})
    photos = {"train_photos": summary["train_photos"]} if "train_photos" in summary else {}
    return {"steps": summary.get("steps", 0), **photos,
            "config": {k: c[k] for k in ("minutes", "lr", "batch", "patch", "low_sigma_fraction", "init") if k in c}}


def card_summary(summary: dict) -> dict:
    """The part of a run's ``summary.json`` that the cards show: parameters, patch, batch and each stage."""
    return {"params": summary.get("params", 0), **_stage_fields(summary),
            "previous_runs": [_stage_fields(st) for st in summary.get("previous_runs", [])]}


def training_summaries(run_dir: Path, fallback: dict | None) -> dict[str, dict]:
    """:func:`card_summary` of each of :data:`CARD_RUNS` with the number of training photos, from ``run_dir``
    (and the corpus split) or, for a run that is gone, from ``fallback`` (the ``training`` block of an earlier
    ``restore-metrics.json``). The cards show these, not the photos that happen to be on the machine.

    Raises:
        FileNotFoundError: a run is in neither.
    """
    return {name: run_or_stored(run_dir / name, (fallback or {}).get(name), _training_block, "restore-metrics.json")
            for name in CARD_RUNS}


def _training_block(_run: Path, summary: dict) -> dict:
    # runs before the enlarged corpus did not record their photos: they used the first corpus's training split
    return {**card_summary(summary), "train_photos": summary.get("train_photos", len(data.split().train))}


FIRST_CORPUS_TRAIN_PHOTOS = 30  # the first corpus's training split, which stages without a photo count used


def _corpus_note(summary: dict) -> str:
    """What the card's data line (the first corpus's photo count) adds when the last stage trained on the enlarged
    corpus (any other count): empty otherwise."""
    if summary["train_photos"] == FIRST_CORPUS_TRAIN_PHOTOS:
        return ""
    return (
        " for the first stages; for the last, the photo corpus's restoration\n  training split "
        "(`corpus_split(\"restore\").train`: eleven Debian packages and scikit-image, `scripts/photo-corpus.json`),\n"
        f"  upright, the {summary['train_photos']} photos whose halved short side holds a patch")


def _cbm3d_goal(m: dict) -> str:
    """The photo-corpus issue's denoising goal (σ = 25 at or above CBM3D), once the model trained on the corpus."""
    gap = m["25"]["model_psnr"] - m["25"].get("cbm3d_psnr", float("nan"))
    return (f"\n\nAgainst CBM3D at σ = 25: {gap:+.3f} dB (goal: at or above; σ = 50: "
            f"{m['50']['model_psnr'] - m['50'].get('cbm3d_psnr', float('nan')):+.2f} dB)." if gap > -0.5 else "")


def _qf_branch_note(result: dict) -> str:
    """What the QF errors say about the branch (saturating above QF 50, or following the QF: every mean error ≤ 5),
    leading into the DCT reading."""
    if max(result["qf_mean_abs_error"].values()) <= 5:
        return ("Since the stages on the enlarged corpus the branch\nfollows the QF across the range (the first "
                "weights' raw outputs for q = 50…95 spanned only 35–43 before calibration).\n\nThe app and library "
                "still read the QF from the pixels themselves first")
    return ("The branch is\naccurate at low QF, where it matters most for the restoration, and saturates above about "
            "50 (the raw outputs for\nq = 50…95 span only 35–43 on the training photos before calibration).\n\n"
            "That is why the app and library first read the QF from the pixels themselves")


def _photo_list(rows: list[dict]) -> str:
    """The photos of a results table, in order, once each."""
    return ", ".join(dict.fromkeys(r["photo"] for r in rows))


def _stages(summary: dict) -> str:
    """One bullet per training stage of a run (earlier stages first)."""
    stages = [*summary.get("previous_runs", []), summary] if summary else []
    lines = []
    for st in stages:
        c = st.get("config", {})
        extra = ", half of σ from 0–40" if c.get("low_sigma_fraction") else ""
        extra += ", continued from the previous stage" if c.get("init") else ""
        photos = st.get("train_photos", FIRST_CORPUS_TRAIN_PHOTOS)
        extra += f", on the enlarged corpus ({photos} photos)" if photos != FIRST_CORPUS_TRAIN_PHOTOS else ""
        lines.append(f"  - {c.get('minutes', 0):g} min at lr {c.get('lr', 0):g}{extra}: {st.get('steps', 0):,} steps "
                     f"of batch {c.get('batch', 0)}.")
    return "\n".join(lines)


def write_cards(denoise_result: dict, dejpeg_result: dict, run_dir: Path = Path("runs")) -> list[Path]:
    """Write ``weights/denoise-unet.md``, ``weights/dejpeg-fbcnn-lite.md`` and ``weights/restore-metrics.json``.

    The training summaries come from ``run_dir``, or from the metrics file already there once the runs are gone.
    """
    metrics_path = WEIGHTS_DIR / "restore-metrics.json"
    old = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics = {"denoise": denoise_result, "dejpeg": dejpeg_result,
               "training": training_summaries(run_dir, old.get("training"))}
    metrics_path.write_text(json.dumps(metrics, indent=1))
    precision = {n: existing_section(WEIGHTS_DIR / n, CPU_PRECISION_HEADING) for n in CARDS}
    paths = []
    for name, text in card_texts(metrics, precision).items():
        path = WEIGHTS_DIR / name
        path.write_text(text)
        paths.append(path)
    return paths


def card_texts(metrics: dict, precision: dict[str, str] | None = None) -> dict[str, str]:
    """File name → text of the two restoration cards, from a ``restore-metrics.json`` dict and the
    ``## CPU precision`` sections to keep (written by ``benchmarks/cpu_precision.py --cards``)."""
    return {name: append_section(text, (precision or {}).get(name, ""))
            for name, text in _card_texts(metrics).items()}


def _card_texts(metrics: dict) -> dict[str, str]:
    denoise_result, dejpeg_result = metrics["denoise"], metrics["dejpeg"]
    dn, dj = (metrics["training"][n] for n in CARD_RUNS)
    held = _photo_list(denoise_result["rows"])
    m = denoise_result["mean"]
    rows = "\n".join(
        f"| σ = {s} | {m[s]['noisy_psnr']:.2f} | {m[s]['nlm_psnr']:.2f} / {m[s]['nlm_ssim']:.4f} | "
        f"{m[s].get('cbm3d_psnr', float('nan')):.2f} / {m[s].get('cbm3d_ssim', float('nan')):.4f} | "
        f"**{m[s]['model_psnr']:.2f}** / {m[s]['model_ssim']:.4f} |" for s in m)
    blind = m["25"]
    per_photo = "\n".join(f"| {r['photo']} | {r['sigma']} | {r['nlm_psnr']:.2f} | {r.get('cbm3d_psnr', float('nan')):.2f} "
                          f"| {r['model_psnr']:.2f} | {r.get('sigma_est', '')} |" for r in denoise_result["rows"])
    card = f"""# denoise/unet — noise-level U-Net (FFDNet / DRUNet design), trained by this project

- **Weights**: `weights/denoise-unet.safetensors` ({(WEIGHTS_DIR / 'denoise-unet.safetensors').stat().st_size / 1e6:.2f} MB, float32, {dn.get('params', 0):,} parameters). License: MIT.
- **Architecture**: `enhancers/archs/restore_unet.py:DenoiseUNet`. Pixel-unshuffle ×2 (FFDNet), a constant σ/255 map
  as a 13th input channel, a three-level U-Net (64/96/128 channels, residual blocks, strided-conv down, transposed-conv up,
  additive skips as in DRUNet), pixel-shuffle back; the network predicts the noise, which is subtracted.
- **Papers**: FFDNet, Zhang et al. 2018, https://arxiv.org/abs/1710.04026; DRUNet, Zhang et al. 2021, https://arxiv.org/abs/2008.13751.
- **Input / output**: RGB float32 `(1, 3, H, W)` in [0, 1] plus σ on the 0–255 scale (0–75); output the same shape.
  Grayscale photos go in as three equal channels and come out gray.
- **Blind mode**: σ is estimated with scikit-image's wavelet estimator (`enhancers.denoise.estimate_sigma`), then used as above.

## Training
- Data: the training split of the corpus (Debian `mate-backgrounds` and `lomiri-wallpapers-16.04` photos, and
  scikit-image photos; {FIRST_CORPUS_TRAIN_PHOTOS} photos){_corpus_note(dn)}, each downscaled ×2 with Lanczos; random {dn.get('config', {}).get('patch', 96)}² patches,
  random 90° rotations and flips, batch {dn.get('config', {}).get('batch', 8)}.
- Noise: σ uniform in 0–75 per patch; Gaussian, then rounded and clipped to 8 bits (`enhancers.degrade.add_gaussian_noise`).
- L1 loss, Adam, cosine decay over each stage's wall-clock CPU budget (1 thread, on a 2-core machine shared with
  other training jobs):
{_stages(dn)}
- Commands: `make train-restore` (runs the stages above).

## Held-out quality
Photos never trained on: {held}. Each ↓2 Lanczos, centre crop 512, noise seed 0. RGB PSNR (dB) / SSIM, means:

| Noise | Noisy | Non-local means | CBM3D | **This model** |
|---|---|---|---|---|
{rows}

Blind mode at σ = 25: mean estimate {blind['sigma_est']:.1f}, PSNR {blind['blind_psnr']:.2f} dB
(CBM3D told the true σ: {blind.get('cbm3d_psnr', float('nan')):.2f} dB).{_cbm3d_goal(m)}

Per photo (PSNR dB; σ estimate at σ = 25):

| Photo | σ | NLM | CBM3D | Model | σ̂ |
|---|---|---|---|---|---|
{per_photo}

Reproduce: `python -m enhancers.training report-restore --cards` (needs `bm3d` from requirements-train.txt).

## Limits
Trained on synthetic Gaussian noise only. Real camera noise is spatially correlated and signal-dependent: for phone
photos taken in low light, `denoise/scunet-real` (Hub) is the better choice. σ above 75 is outside the training range.
"""
    texts = {"denoise-unet.md": card}

    j = dejpeg_result["mean"]
    jrows = "\n".join(
        f"| q = {q} | {j[q]['jpeg_psnr']:.2f} / {j[q]['jpeg_ssim']:.4f} / {j[q]['jpeg_psnrb']:.2f} | "
        f"**{j[q]['model_psnr']:.2f}** / {j[q]['model_ssim']:.4f} / {j[q]['model_psnrb']:.2f} | "
        f"+{j[q]['model_psnr'] - j[q]['jpeg_psnr']:.2f} dB |" for q in j)
    qf = " · ".join(f"q{q}: {e}" for q, e in dejpeg_result["qf_mean_abs_error"].items())
    card = f"""# dejpeg/fbcnn-lite — flexible blind JPEG artifact remover (FBCNN design), trained by this project

- **Weights**: `weights/dejpeg-fbcnn-lite.safetensors` ({(WEIGHTS_DIR / 'dejpeg-fbcnn-lite.safetensors').stat().st_size / 1e6:.2f} MB, float32, {dj.get('params', 0):,} parameters). License: MIT.
- **Architecture**: `enhancers/archs/restore_unet.py:JPEGUNet`. Pixel-unshuffle ×2 (8×8 blocks become 4×4 blocks of a
  12-channel half-size image), then a three-level U-Net (64/96/128 channels, residual blocks). As in FBCNN, a QF predictor
  (an MLP with a sigmoid) reads the globally pooled features of every encoder level, and a QF embedding gives each decoder
  level a per-channel scale and shift. During training the decoder is given the true QF, so at inference the QF control
  means "treat this as a JPEG of quality q": lower smooths more. A first, full-resolution four-level variant (32–128
  channels) was abandoned after 15 minutes: at 2 s per step it had not moved past the identity.
- **Paper**: Jiang et al. 2021, "Towards Flexible Blind JPEG Artifacts Removal", https://arxiv.org/abs/2109.14573.
- **Input / output**: a decoded JPEG, RGB float32 `(1, 3, H, W)` in [0, 1], on its own 8×8 grid (tiles start on
  multiples of 8); grayscale JPEGs as three equal channels. Returns the restoration and the predicted QF (0–100).

## Training
- Data: the training split of the corpus ({FIRST_CORPUS_TRAIN_PHOTOS} photos){_corpus_note(dj)}, ↓2 Lanczos; random {dj.get('config', {}).get('patch', 96)}² patches, rotations and flips, batch {dj.get('config', {}).get('batch', 8)}.
- JPEG: Pillow `save(format="JPEG", quality=q)`, default 4:2:0 subsampling, q uniform in 5–95. A quarter of the patches are
  compressed twice (first at a random quality, then cropped 0–7 px off the grid and saved at q), a fifth are grayscale JPEGs.
- Loss: L1 on the image + 0.1 × L1 on QF/100. Adam, cosine decay over each stage's wall-clock CPU budget (1 thread,
  on a 2-core machine shared with other training jobs). The shipped weights: a 15-minute stage at lr 1e-3 (about 790 steps of batch 8) whose QF head
  pooled channel *means* (it did not learn: means follow the image's average colour through the residual paths), then
{_stages(dj)}
  with the head pooling standard deviations. Finally `python -m enhancers.training calibrate-qf` fits a monotone map
  from raw predictions to QF on the training photos (median per q = 5, 10, …, 95) and stores it in the weights.
- Commands: `make train-restore`.

## Held-out quality
Photos never trained on: {_photo_list(dejpeg_result['rows'])}. Each ↓2 Lanczos, centre crop 512. PSNR (dB) / SSIM / PSNR-B (dB), RGB, means:

| JPEG | JPEG as saved | **Restored (automatic QF)** | Gain |
|---|---|---|---|
{jrows}

QF prediction of the network's QF branch, mean absolute error on the same photos for q = 10, 20, …, 90: {qf};
worst case {dejpeg_result['qf_worst_abs_error']}; {dejpeg_result['qf_within_10'] * 100:.0f}% within ±10. {_qf_branch_note(dejpeg_result)} (`enhancers.dejpeg.estimate_quality_dct`:
the decoded image's 8×8 luma DCT coefficients still sit on multiples of the quantisation steps): on the same photos it
found a QF in {dejpeg_result['dct_quality']['found']} cases, with mean absolute error
{dejpeg_result['dct_quality']['mean_abs_error']} and worst {dejpeg_result['dct_quality']['worst_abs_error']}
({(dejpeg_result['dct_quality']['within_10'] or 0) * 100:.0f}% within ±10). When it finds none (not a JPEG, resized,
re-noised, cropped off the grid) the network's prediction is used.

Reproduce: `python -m enhancers.training report-restore --cards`.

## Limits
Small and trained briefly on CPU: it removes blocking and ringing at low QF well but keeps less texture than the official
FBCNN (`dejpeg/fbcnn-color`, Hub, 288 MB). Chroma subsampling other than 4:2:0 was not trained on.
"""
    texts["dejpeg-fbcnn-lite.md"] = card
    return texts
