"""Train the classification colorizer (Zhang, Isola & Efros 2016, https://arxiv.org/abs/1603.08511) on CPU.

The encoder and decoder start from a trained regression U-Net (``--init``, the shipped ``color/unet``);
a new head predicts a distribution over the a*b* bins of :func:`enhancers.archs.color_class_unet.ab_bins`.

Loss (the paper's section 2.1): per pixel, cross-entropy against a *soft* target (the 5 nearest bins of the
true a*b*, weighted by a Gaussian of σ = 5 Lab units), multiplied by a class-rebalancing weight of the
nearest bin, w ∝ 1 / ((1 − λ)·p̃ + λ/Q) with λ = 0.5 and p̃ the empirical distribution of a*b* over the
training photos smoothed by a Gaussian of σ = 5, normalised so that E_p̃[w] = 1. Rebalancing raises the
weight of the rare saturated colours that a plain loss learns to leave out.

Photos (the colour photo corpus's training split, opened upright), crops, flips, the cosine learning-rate decay
over a wall-clock budget and the final held-out evaluation (the corpus's colour held-out photos) are those of
:mod:`enhancers.training.colorize`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..archs.color_class_unet import ColorClassUNet
from ..lab import AB_SCALE, ntsc_gray, rgb_to_lab_scaled
from ..specs import WEIGHTS_DIR
from .checkpoints import save_weights
from .colorize import POOL_SHORT_SIDES, _batch, _pool, evaluate, heldout_photos, training_photos
from .runs import LossMeans, cosine_lr, start_run

SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0  # Lab units
PRIOR_SIGMA = 5.0
REBALANCE_LAMBDA = 0.5


@dataclass
class ClassConfig:
    out_name: str
    minutes: float
    init: str = str(WEIGHTS_DIR / "color-unet.safetensors")  # regression U-Net to start the body from
    lr: float = 1e-4  # encoder and decoder
    head_lr: float = 1e-3
    rebalance: float = REBALANCE_LAMBDA  # λ; 1 = no rebalancing
    batch: int = 12
    crop: int = 128
    pool_sides: tuple[int, ...] = POOL_SHORT_SIDES
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    checkpoint_minutes: float = 10.0
    run_dir: str = "runs"
    weights_dir: str = str(WEIGHTS_DIR)


def soft_targets(ab: torch.Tensor, bins: torch.Tensor, k: int = SOFT_NEIGHBOURS,
                 sigma: float = SOFT_SIGMA) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-encode a*b* over ``bins``.

    Args:
        ab: a*, b* in Lab units, float32 ``(N, 2, H, W)``.
        bins: bin centres, float32 ``(Q, 2)``.

    Returns:
        The soft target, float32 ``(N, Q, H, W)`` summing to 1 over Q (the ``k`` nearest bins weighted by
        exp(−d² / 2σ²)), and the index of the nearest bin, int64 ``(N, H, W)``.
    """
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, bins).square_()
    near_d2, near = d2.topk(k, dim=1, largest=False)
    weights = torch.softmax(-near_d2 / (2 * sigma * sigma), dim=1)
    target = torch.zeros_like(d2).scatter_(1, near, weights)
    return (target.view(n, h, w, -1).permute(0, 3, 1, 2).contiguous(),
            near[:, 0].view(n, h, w))


def rebalance_weights(pool: list[list[torch.Tensor]], bins: torch.Tensor, lam: float = REBALANCE_LAMBDA,
                      sigma: float = PRIOR_SIGMA, side: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    """Class-rebalancing weights of Zhang et al. from the a*b* of the training photos.

    Args:
        pool: per photo, uint8 ``(3, H, W)`` versions (the first is used, reduced to ``side`` px).
        bins: float32 ``(Q, 2)`` bin centres.
        lam: λ, the share of the uniform distribution mixed in (1 gives equal weights).

    Returns:
        ``(weights, prior)``: float32 ``(Q,)`` each; ``prior`` is the smoothed empirical distribution p̃ and
        ``(prior * weights).sum() == 1``.
    """
    counts = torch.zeros(len(bins))
    for versions in pool:
        img = versions[0][None].float() / 255
        f = side / max(img.shape[-2:])
        img = F.interpolate(img, scale_factor=f, mode="area") if f < 1 else img
        ab = rgb_to_lab_scaled(img)[:, 1:] * AB_SCALE
        nearest = torch.cdist(ab.permute(0, 2, 3, 1).reshape(-1, 2), bins).argmin(dim=1)
        counts += torch.bincount(nearest, minlength=len(bins)).float() / nearest.numel()
    p = counts / counts.sum()
    kernel = torch.exp(-torch.cdist(bins, bins).square() / (2 * sigma * sigma))
    prior = kernel @ p
    prior = prior / prior.sum()
    w = 1.0 / ((1 - lam) * prior + lam / len(bins))
    return w / (prior * w).sum(), prior


def class_loss(logits: torch.Tensor, target: torch.Tensor, nearest: torch.Tensor,
               weights: torch.Tensor) -> torch.Tensor:
    """Rebalanced soft cross-entropy: mean over pixels of w(nearest) · Σ_q −target_q · log softmax(logits)_q."""
    ce = -(target * torch.log_softmax(logits.float(), dim=1)).sum(dim=1)
    return (weights[nearest] * ce).mean()


def new_model(init: str | None) -> ColorClassUNet:
    """A classification colorizer whose encoder and decoder come from regression weights ``init``."""
    from safetensors.torch import load_file

    model = ColorClassUNet()
    if init:
        body = {k: v for k, v in load_file(init).items() if not k.startswith("head.")}
        missing, unexpected = model.load_state_dict(body, strict=False)
        if unexpected or any(not k.startswith("head.") for k in missing):
            raise ValueError(f"{init} is not a colorization U-Net: missing {missing}, unexpected {unexpected}")
    return model


def train(cfg: ClassConfig) -> dict:
    run, log, rng, _ = start_run(cfg.run_dir, cfg.out_name, cfg.seed, cfg.threads)
    photos = training_photos()
    pool = _pool(photos, tuple(cfg.pool_sides))
    model = new_model(cfg.init).train()
    weights, prior = rebalance_weights(pool, model.bins, cfg.rebalance)
    head = list(model.head.parameters())
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if id(p) not in head_ids]
    opt = torch.optim.Adam([{"params": body, "base_lr": cfg.lr}, {"params": head, "base_lr": cfg.head_lr}])
    log.write(f"config {json.dumps(asdict(cfg))} bins {len(model.bins)} train_photos {len(photos)}: "
              f"{[p.id for p in photos]}\nweights min {float(weights.min()):.3f} max {float(weights.max()):.3f}\n")
    budget = cfg.minutes * 60
    t0 = time.time()
    next_ckpt = cfg.checkpoint_minutes * 60
    means = LossMeans(log, 25, digits=5)
    step = 0
    while (elapsed := time.time() - t0) < budget:
        step += 1
        for g in opt.param_groups:
            g["lr"] = cosine_lr(g["base_lr"], elapsed / budget)
        rgb = _batch(pool, cfg, rng)
        target, nearest = soft_targets(rgb_to_lab_scaled(rgb)[:, 1:] * AB_SCALE, model.bins)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = model.class_logits(ntsc_gray(rgb))
        loss = class_loss(logits, target, nearest, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        means.update(step, {"loss": loss}, time.time() - t0)
        if time.time() - t0 >= next_ckpt:
            next_ckpt += cfg.checkpoint_minutes * 60
            save_weights(model, run / f"step{step:06d}.safetensors")
    train_s = round(time.time() - t0)
    model = model.eval()
    out = Path(cfg.weights_dir) / f"{cfg.out_name}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, out, metadata={"steps": str(step), "init": Path(cfg.init).name if cfg.init else "",
                                       "rebalance_lambda": str(cfg.rebalance)})
    final = evaluate(model, heldout_photos())
    summary = {"config": asdict(cfg), "steps": step, "train_seconds": train_s, "bins": len(model.bins),
               "train_photos": [p.id for p in photos], "weights": str(out),
               "prior": [round(float(v), 6) for v in prior], "final": final}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"final {json.dumps(final['mean'])}\n")
    log.close()
    return summary
