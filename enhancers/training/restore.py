"""Train the bundled denoiser and JPEG artifact remover on CPU (or a GPU when present).

Clean images are the photo corpus's restoration training photos
(:func:`enhancers.training.corpus.corpus_split` ``("restore").train``, 385 photos from eleven sources), turned
upright and downscaled ×2 with Lanczos (as the evaluation photos are; for the lossy and small photos this is the
corpus's own ×0.5 rule, which hides compression artefacts), cut into random patches with random 90° rotations and
flips.

* Denoising: σ drawn uniformly from 0–75 per patch (optionally, part of the time, from
  0–40), noise protocol of
  :func:`enhancers.degrade.add_gaussian_noise` (Gaussian, rounded and clipped to 8 bits).
* JPEG: quality drawn uniformly from 5–95, or (half the time) from 5–40; a quarter of the patches are compressed
  twice (the second time on a grid shifted by 0–7 pixels, as a cropped and re-saved
  photo is) and a fifth are grayscale JPEGs. Loss: L1 on the image plus L1 on QF/100
  for the predictor; the decoder is conditioned on the true QF, so at inference the
  QF control means what it says.

L1 loss, Adam, and a cosine learning-rate decay over a wall-clock budget
(``--minutes``), so a run ends on schedule whatever the machine's speed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .. import imageio
from ..degrade import add_gaussian_noise
from ..metrics import psnr_rgb
from ..specs import WEIGHTS_DIR
from . import data
from .checkpoints import save_weights
from .corpus import CorpusPhoto, corpus_split, open_photo
from .runs import cosine_lr

SIGMA_RANGE = (0.0, 75.0)
QUALITY_RANGE = (5, 95)


@dataclass
class RestoreConfig:
    task: str  # "denoise" or "dejpeg"
    minutes: float
    out_name: str
    batch: int = 8
    patch: int = 96
    lr: float = 1e-3
    seed: int = 0
    threads: int = 1
    eval_every_s: int = 300
    run_dir: str = "runs"
    double_jpeg: float = 0.25
    gray_jpeg: float = 0.2
    qf_loss_weight: float = 0.1
    low_sigma_fraction: float = 0.0  # share of σ drawn from 0–40 instead of 0–75 (detail matters most there)
    low_quality_fraction: float = 0.5  # share of JPEG qualities drawn from 5–40, where artifacts are worst
    init: str | None = None  # safetensors to continue from (a warm restart of the cosine schedule)


def clean_pool(photos: Iterable[CorpusPhoto], min_side: int) -> list[torch.Tensor]:
    """Clean RGB uint8 ``(3, H, W)`` tensors: each corpus photo upright and downscaled ×2 with Lanczos; photos whose
    halved short side is under ``min_side`` px are left out. Raises ImageReadError for an unreadable photo."""
    pool = []
    for photo in photos:
        im = open_photo(photo, "color")  # upright, full size
        im = im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
        if min(im.size) >= min_side:
            pool.append(torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous())
    return pool


def random_patches(pool: list[torch.Tensor], n: int, size: int, rng: random.Random) -> torch.Tensor:
    """``n`` random ``size``² crops (photos drawn by area), rotated and flipped; float32 in [0, 1]."""
    weights = [t.shape[1] * t.shape[2] for t in pool]
    out = []
    for t in rng.choices(pool, weights=weights, k=n):
        y, x = rng.randrange(t.shape[1] - size + 1), rng.randrange(t.shape[2] - size + 1)
        p = torch.rot90(t[:, y:y + size, x:x + size], rng.randrange(4), (1, 2))
        out.append(p.flip(2) if rng.random() < 0.5 else p)
    return torch.stack(out).float() / 255


def noisy_batch(clean: torch.Tensor, rng: random.Random,
                low_fraction: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    sigmas = torch.tensor([rng.uniform(0, 40) if rng.random() < low_fraction else rng.uniform(*SIGMA_RANGE)
                           for _ in range(clean.shape[0])])
    noisy = torch.cat([add_gaussian_noise(c[None], float(s), seed=rng.randrange(2 ** 31))
                       for c, s in zip(clean, sigmas)])
    return noisy, sigmas


def jpeg_batch(clean: torch.Tensor, cfg: RestoreConfig, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor,
                                                                                         torch.Tensor]:
    """(JPEG inputs, targets, last quality) for a batch of clean patches ``(N, 3, P+8, P+8)``."""
    size = clean.shape[-1] - 8
    inputs, targets, qs = [], [], []
    for c in clean:
        c = c[None]
        gray = rng.random() < cfg.gray_jpeg
        low = rng.random() < cfg.low_quality_fraction
        q = rng.randint(QUALITY_RANGE[0], 40) if low else rng.randint(*QUALITY_RANGE)
        if rng.random() < cfg.double_jpeg:
            first = imageio.jpeg_compress(c, rng.randint(*QUALITY_RANGE), grayscale=gray)
            dy, dx = rng.randrange(8), rng.randrange(8)
            src, c = first[..., dy:dy + size, dx:dx + size], c[..., dy:dy + size, dx:dx + size]
        else:
            src = c = c[..., :size, :size]
        if gray:  # the target is the original's BT.601 luma, as Pillow's convert("L") makes it
            luma = (c * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
            c = luma.mul(255).round().div(255).expand(-1, 3, -1, -1)
        inputs.append(imageio.jpeg_compress(src, q, grayscale=gray))
        targets.append(c)
        qs.append(float(q))
    return torch.cat(inputs), torch.cat(targets), torch.tensor(qs)


def build_model(task: str) -> torch.nn.Module:
    from ..archs.restore_unet import DenoiseUNet, JPEGUNet

    return DenoiseUNet() if task == "denoise" else JPEGUNet()


@torch.no_grad()
def quick_eval(model: torch.nn.Module, task: str, photos, crop: int = 256) -> dict:
    """Mean RGB PSNR on a few held-out crops: σ = 25, 50 (denoise) or q = 10, 30 (+ QF error)."""
    rows: dict[str, list[float]] = {}
    for p in photos:
        clean = data.prepare_hr(Path(p), crop=crop, multiple=8)
        if task == "denoise":
            for s in (25, 50):
                noisy = add_gaussian_noise(clean, s)
                rows.setdefault(f"noisy_{s}", []).append(psnr_rgb(noisy, clean))
                rows.setdefault(f"psnr_{s}", []).append(psnr_rgb(model(noisy, s).clamp(0, 1), clean))
        else:
            for q in (10, 30):
                jpg = imageio.jpeg_compress(clean, q)
                out, qf = model(jpg)
                rows.setdefault(f"jpeg_{q}", []).append(psnr_rgb(jpg, clean))
                rows.setdefault(f"psnr_{q}", []).append(psnr_rgb(out.clamp(0, 1), clean))
                rows.setdefault(f"qf_err_{q}", []).append(abs(float(qf) - q))
    return {k: round(sum(v) / len(v), 3) for k, v in rows.items()}


def train(cfg: RestoreConfig) -> dict:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data.require_corpus()
    train_photos = corpus_split("restore").train
    pool = clean_pool(train_photos, min_side=cfg.patch + 8)
    heldout = data.split().heldout  # the report's held-out photos (also held out of the enlarged corpus)
    run = Path(cfg.run_dir) / cfg.out_name
    run.mkdir(parents=True, exist_ok=True)
    log = open(run / "train.log", "a", buffering=1)
    model = build_model(cfg.task)
    if cfg.init:
        from safetensors.torch import load_file

        state = load_file(cfg.init)
        # a shipped JPEG model carries its QF calibration table: training learns the raw prediction (an empty
        # table is the identity), and `calibrate-qf` fits a new table afterwards
        if "qf_calib_x" in state:
            state["qf_calib_x"], state["qf_calib_y"] = torch.zeros(0), torch.zeros(0)
        model.load_state_dict(state)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    nparams = sum(p.numel() for p in model.parameters())
    log.write(f"config {json.dumps(asdict(cfg))} params {nparams} train_photos {len(pool)}\n")
    budget = cfg.minutes * 60
    t0 = last_eval = time.time()
    curve, step, running = [], 0, [0.0, 0.0]
    while (elapsed := time.time() - t0) < budget:
        step += 1
        for g in opt.param_groups:
            g["lr"] = cosine_lr(cfg.lr, elapsed / budget)
        if cfg.task == "denoise":
            clean = random_patches(pool, cfg.batch, cfg.patch, rng)
            noisy, sigmas = noisy_batch(clean, rng, cfg.low_sigma_fraction)
            loss = F.l1_loss(model(noisy.to(device), sigmas.to(device)), clean.to(device))
            qloss = torch.zeros(())
        else:
            inp, target, qs = jpeg_batch(random_patches(pool, cfg.batch, cfg.patch + 8, rng), cfg, rng)
            out, predicted = model(inp.to(device), qs.to(device))
            loss = F.l1_loss(out, target.to(device))
            qloss = F.l1_loss(predicted / 100, qs.to(device) / 100)
        opt.zero_grad(set_to_none=True)
        (loss + cfg.qf_loss_weight * qloss).backward()
        opt.step()
        running[0] += loss.item()
        running[1] += qloss.item()
        if step % 50 == 0:
            log.write(f"step {step} l1 {running[0] / 50:.5f} qf_l1 {running[1] / 50 * 100:.2f} "
                      f"elapsed {elapsed:.0f}s\n")
            running = [0.0, 0.0]
        if time.time() - last_eval > cfg.eval_every_s:
            last_eval = time.time()
            model.eval()
            curve.append({"step": step, "elapsed_s": round(elapsed),
                          **quick_eval(model.cpu(), cfg.task, heldout[:2])})
            model.to(device).train()
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(model, run / "last.safetensors")
    out = WEIGHTS_DIR / f"{cfg.out_name}.safetensors"
    save_weights(model, out, metadata={"task": cfg.task, "steps": str(step)})
    model.eval()
    final = quick_eval(model.cpu(), cfg.task, heldout[:2])
    prev_path = run / "summary.json"
    previous = json.loads(prev_path.read_text()) if cfg.init and prev_path.exists() else {}
    history = previous.get("previous_runs", []) + (
        [{k: previous[k] for k in ("config", "steps", "train_seconds", "train_photos") if k in previous}]
        if previous else [])
    summary = {"config": asdict(cfg), "params": nparams, "steps": step, "previous_runs": history,
               "train_photos": len(pool),
               "train_seconds": round(time.time() - t0),
               "curve": curve, "final_quick": final}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"final {json.dumps(final)}\n")
    log.close()
    return summary


CALIBRATION_SIGMAS = (0, 5, 10, 15, 20, 25, 30, 40, 50, 60, 75)


def fit_sigma_calibration() -> list[tuple[float, float]]:
    """(median raw wavelet estimate, true σ) over the training photos (↓2 Lanczos, crop 512, noise seed 1)."""
    from ..denoise import raw_sigma_estimate

    clean = [data.prepare_hr(p, crop=512) for p in data.split().train]
    return [(round(float(np.median([raw_sigma_estimate(add_gaussian_noise(c, s, seed=1)) for c in clean])), 2),
             float(s)) for s in CALIBRATION_SIGMAS]


CALIBRATION_QUALITIES = tuple(range(5, 100, 5))


@torch.no_grad()
def fit_qf_calibration(weights: Path | None = None) -> list[tuple[float, float]]:
    """Fit the JPEG model's raw-prediction → QF table on the training photos, and store it in its weights.

    For q = 5, 10, …, 95, the median raw prediction over 256² centre crops of the training
    photos (↓2 Lanczos, Pillow JPEG). The medians are made increasing (running maximum plus
    a small step) so the map is invertible, then saved as the buffers ``qf_calib_x`` /
    ``qf_calib_y`` next to the network's weights.
    """
    from safetensors.torch import load_file

    from ..archs.restore_unet import build_dejpeg

    path = weights or WEIGHTS_DIR / "dejpeg-fbcnn-lite.safetensors"
    state = load_file(path)
    state.pop("qf_calib_x", None)
    state.pop("qf_calib_y", None)
    model = build_dejpeg(state).module
    clean = [data.prepare_hr(p, crop=256, multiple=8) for p in data.split().train]
    raw = []
    for q in CALIBRATION_QUALITIES:
        preds = [float(model(imageio.jpeg_compress(c, q))[1]) for c in clean]
        raw.append(float(np.median(preds)))
    xs = np.clip(np.maximum.accumulate(np.asarray(raw)) + np.arange(len(raw)) * 1e-3, 0.01, 99.99)
    model.set_qf_calibration(torch.tensor(np.concatenate([[0.0], xs, [100.0]])),
                             torch.tensor([0.0, *CALIBRATION_QUALITIES, 100.0]))
    save_weights(model, path, metadata={"task": "dejpeg", "qf_calibration": "training photos, median per q"})
    return [(round(float(x), 2), float(q)) for x, q in zip(xs, CALIBRATION_QUALITIES)]
