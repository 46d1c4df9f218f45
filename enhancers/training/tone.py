"""Train the auto-tone curve network (:mod:`enhancers.archs.tone_curves`) to undo the photometric degradations
of :func:`enhancers.degrade.photometric` (exposure, gamma, faded contrast, white-balance cast), supervised:
the curves applied to the degraded photo should give back the original. A fifth of the samples are left
undegraded, so a well-exposed photo learns to come back unchanged.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from .. import degrade, imageio
from ..archs.tone_curves import ToneCurveNet, apply_curves, lookup_curves
from ..metrics import psnr_rgb
from ..specs import WEIGHTS_DIR
from . import data
from .checkpoints import save_weights
from .enhance import DEGRADATIONS
from .runs import start_run


def _log_mse(out: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of each crop's 10·log10(MSE + 1e-5): minus its PSNR in dB (capped at 50 dB), the
    quantity the evaluation averages. A crop that is nearly right weighs as much as one that is far off, so a
    well-exposed crop's small change costs what it costs in the tables."""
    return 10 * torch.log10((out - clean).pow(2).flatten(1).mean(1) + 1e-5).mean()


LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss, "psnr": _log_mse}
EVAL_CONDITIONS = {"dark_warm": degrade.DARK_WARM_CAST, "dark_cool": degrade.DARK_COOL_CAST,
                   "dark_warm_faded": degrade.DARK_WARM_FADED, "well_exposed": degrade.IDENTITY_PHOTOMETRIC}


@dataclass
class ToneConfig:
    out_name: str = "tone-curves"
    minutes: float = 8.0
    batch: int = 16
    crop: int = 128
    short_side: int = 192
    lr: float = 1e-3
    identity_fraction: float = 0.2
    # Share of crops first given a camera-and-upload degradation (blur, noise, JPEG at the same size: the "mild"
    # mix of the enhancement training), which the curves must leave alone: in the Enhance tab auto-tone sees the
    # damaged photo, and a model trained on clean crops read noise and blur in the histograms as a lighting fault.
    damaged_fraction: float = 0.0
    # Zoom: each crop's window is crop · zoom**u px (u uniform in [0, 1]) of the photo resized to short side
    # short_side · zoom, then resized to ``crop``. At 1 every crop shows about two thirds of the photo; above 1 the
    # network also sees close-ups, as it does on a cropped photo or a tile: a close-up of a flat gray wall or a
    # white bench is usually well exposed, and a network that only saw wide views brightened it to white.
    zoom: float = 1.0
    # "mse" scores the curve-corrected crop by its squared error, as PSNR does: where a photo could be either a
    # chosen look (a night scene, a misty morning) or a badly exposed one, the squared error's optimum is a partial
    # correction between the two, where L1's (a median) commits to the full one. "psnr" averages each crop's
    # log-MSE, as the held-out tables average PSNR in dB.
    loss: str = "l1"
    init: str | None = None  # weights to continue from
    # The frozen ImageNet scene encoder (ToneCurveNet's ``scene``); from a plain network's --init, the new
    # projection starts at zero, so training starts from that network's curves.
    scene: bool = False
    threads: int = 1
    seed: int = 0
    eval_every: int = 300
    run_dir: str = "runs"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected one of {sorted(LOSSES)}, got {self.loss!r}")
        if not self.zoom >= 1:
            raise ValueError(f"zoom: expected a number >= 1, got {self.zoom!r}")


def _pool(photos, short_side: int) -> list[torch.Tensor]:
    """Each corpus photo (:class:`~enhancers.training.corpus.CorpusPhoto`) upright, its short side resized to
    ``short_side`` px: RGB uint8 ``(3, H, W)`` (uint8 so that a zoomed pool of large photos fits in memory)."""
    from .corpus import open_photo

    pool = []
    for photo in photos:
        im = open_photo(photo, "color")
        f = short_side / min(im.size)
        im = im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))), Image.Resampling.LANCZOS)
        pool.append(imageio.pil_to_tensor(im)[0].mul(255).round().to(torch.uint8))
    return pool


def photometric_8bit(clean: torch.Tensor, params: degrade.PhotometricParams) -> torch.Tensor:
    """``clean`` (RGB float32 ``(1, 3, H, W)`` in [0, 1]) under :func:`enhancers.degrade.photometric` ``params``,
    rounded to 8 bits as a saved photo would be: what auto-tone is trained and scored on."""
    return degrade.photometric(clean, params).mul(255).round().div(255)


def _zoom_crop(img: torch.Tensor, crop: int, zoom: float, rng: random.Random) -> torch.Tensor:
    """A random square window of ``img`` (RGB uint8 ``(3, H, W)``), ``crop · zoom**u`` px with u uniform in
    [0, 1] (at most the short side), resized to ``crop`` px: RGB float32 ``(1, 3, crop, crop)`` in [0, 1]. At
    ``zoom`` 1 the window is ``crop`` px and nothing is resized (and ``rng`` draws no zoom)."""
    w = crop if zoom <= 1 else min(round(crop * zoom ** rng.random()), *img.shape[-2:])
    y = rng.randrange(0, img.shape[1] - w + 1)
    x = rng.randrange(0, img.shape[2] - w + 1)
    c = img[None, :, y:y + w, x:x + w].float().div(255)
    if w != crop:
        c = F.interpolate(c, size=(crop, crop), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return c


def _batch(pool, cfg: ToneConfig, rng: random.Random, np_rng: np.random.Generator):
    clean, degraded = [], []
    for img in rng.choices(pool, k=cfg.batch):
        c = _zoom_crop(img, cfg.crop, cfg.zoom, rng)
        if rng.random() < cfg.damaged_fraction:
            c = degrade.second_order(c, 1, np_rng, DEGRADATIONS["mild"])
        params = (degrade.IDENTITY_PHOTOMETRIC if rng.random() < cfg.identity_fraction
                  else degrade.random_photometric(np_rng))
        clean.append(c)
        degraded.append(photometric_8bit(c, params))
    return torch.cat(degraded), torch.cat(clean)


@torch.no_grad()
def evaluate(model: ToneCurveNet, paths, crop: int | None = 512) -> dict:
    """Mean RGB PSNR of the degraded input and of the auto-toned result against the original, per condition
    (:data:`EVAL_CONDITIONS`), on evaluation-prepared held-out photos (:func:`data.prepare_hr`); photos given back
    exactly are counted in ``unchanged`` (:func:`_means`), and photos a degraded condition leaves within 1 dB of
    their input (corrected too little, or declined) in ``gain_under_1db``; photos whose curves stay within a level
    of the identity, which the app reports as left as they were (:func:`enhancers.enhance.tone_left_alone`), in
    ``left_alone``."""
    from ..enhance import tone_left_alone

    model.eval()
    rows = {name: {"input_psnr": [], "output_psnr": []} for name in EVAL_CONDITIONS}
    left = dict.fromkeys(EVAL_CONDITIONS, 0)
    for p in paths:
        clean = data.prepare_hr(Path(p), crop=crop)
        for name, params in EVAL_CONDITIONS.items():
            bad = photometric_8bit(clean, params)
            curves = model(bad)
            out = apply_curves(bad, curves)
            if params != degrade.IDENTITY_PHOTOMETRIC:
                rows[name]["input_psnr"].append(psnr_rgb(bad, clean))
            rows[name]["output_psnr"].append(psnr_rgb(out, clean))
            left[name] += tone_left_alone(curves[0])
    model.train()
    table = {name: _means(r) for name, r in rows.items()}
    for name, r in rows.items():
        if r["input_psnr"]:
            table[name]["gain_under_1db"] = int(np.sum(np.subtract(r["output_psnr"], r["input_psnr"]) < 1))
        table[name]["left_alone"] = left[name]
    return table


def _means(row: dict[str, list[float]]) -> dict:
    """Mean PSNR per key over the photos; a photo given back unchanged has an infinite PSNR, so the mean is over
    the others and ``unchanged`` counts those (present when there are any)."""
    out: dict = {}
    for k, v in row.items():
        finite = [x for x in v if np.isfinite(x)]
        if finite:
            out[k] = round(float(np.mean(finite)), 3)
        if len(finite) < len(v):
            out["unchanged"] = len(v) - len(finite)
    return out


def heldout_photos() -> list[Path]:
    """The photos auto-tone is scored on: the corpus's held-out colour photos
    (:func:`~enhancers.training.corpus.corpus_split`, which keeps the first corpus's held-out photos)."""
    from .corpus import corpus_split

    return list(corpus_split("color").paths().heldout)


def train(cfg: ToneConfig) -> dict:
    from .corpus import corpus_split

    run, log, rng, np_rng = start_run(cfg.run_dir, cfg.out_name, cfg.seed, cfg.threads)
    split = corpus_split("color")
    pool = [t for t in _pool(split.train, round(cfg.short_side * cfg.zoom)) if min(t.shape[-2:]) >= cfg.crop]
    model = _initial_model(cfg)
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    log.write(f"config {json.dumps(asdict(cfg))} train_images {len(pool)}\n")
    evals = data.split().heldout[:4]  # the curve photos of earlier runs, for comparable curves
    curve = [{"step": 0, "elapsed_s": 0, **_flat(evaluate(model, evals, crop=256))}]
    t0 = time.time()
    step, running = 0, 0.0
    while True:
        step += 1
        progress = min(1.0, (time.time() - t0) / (cfg.minutes * 60))
        for g in opt.param_groups:
            g["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * progress)))
        bad, clean = _batch(pool, cfg, rng, np_rng)
        loss = LOSSES[cfg.loss](lookup_curves(bad, model(bad)), clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += float(loss.detach())
        if step % 50 == 0:
            log.write(f"step {step} {cfg.loss} {running / 50:.6f} elapsed {time.time() - t0:.0f}s\n")
            running = 0.0
        if step % cfg.eval_every == 0 or progress >= 1.0:
            curve.append({"step": step, "elapsed_s": round(time.time() - t0),
                          **_flat(evaluate(model, evals, crop=256))})
            log.write(f"eval {json.dumps(curve[-1])}\n")
        if progress >= 1.0:
            break
    save_weights(model, WEIGHTS_DIR / f"{cfg.out_name}.safetensors", metadata={"steps": str(step)})
    summary = {"config": asdict(cfg), "steps_done": step, "train_seconds": round(time.time() - t0),
               "train_images": len(pool), "curve": curve}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.close()
    return summary


def _initial_model(cfg: ToneConfig) -> ToneCurveNet:
    """The network training starts from: ``cfg.init``'s weights when given (a plain network's may start a scene
    network: only the scene keys may then be missing), and the ImageNet MobileNetV2 in the scene encoder when the
    weights do not hold one."""
    from ..pretrained import mobilenet_v2_imagenet

    model = ToneCurveNet(scene=cfg.scene)
    state = load_file(cfg.init) if cfg.init else {}
    if state:
        missing, unexpected = model.load_state_dict(state, strict=False)
        stray = unexpected + [k for k in missing if not k.startswith(("scene.", "scene_proj."))]
        if stray:
            raise ValueError(f"{cfg.init}: keys do not match the tone network: {stray[:5]}")
    if cfg.scene and not any(k.startswith("scene.") for k in state):
        model.scene.load_state_dict(mobilenet_v2_imagenet().features.state_dict())
    return model


def _flat(result: dict) -> dict:
    return {f"{name}_{k}": v for name, r in result.items() for k, v in r.items()}
