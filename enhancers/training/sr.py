"""Train the bundled super-resolution models on CPU (or a GPU when present).

Protocol: HR = corpus photo downscaled ×2 with Lanczos; LR = Pillow bicubic
downscale of HR by the scale factor; L1 loss; Adam with cosine decay; fixed seed.
On a GPU the photo pool lives on the device and patches are cut there, so a small
network is not starved by Python-side batching.
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

from ..self_ensemble import DIHEDRAL, dihedral
from ..specs import WEIGHTS_DIR
from . import data
from .checkpoints import save_weights
from .evaluate import evaluate_sr
from .runs import cosine_lr, training_device


@dataclass
class SRConfig:
    arch: str  # a key of ARCHS
    scale: int
    steps: int
    out_name: str
    num_feat: int = 32
    num_conv: int = 10
    batch: int = 16
    lr_patch: int = 48
    lr: float = 5e-4
    seed: int = 0
    threads: int = 1
    eval_every: int = 500
    run_dir: str = "runs"
    init: str | None = None  # safetensors to start from (a second, warm-restarted cosine cycle)
    min_patch_std: float = 0.0  # redraw (up to 10 times) LR patches flatter than this: sky and bokeh teach little
    uniform_photos: bool = False  # draw photos uniformly, not by area (big smooth wallpapers dominate otherwise)
    # Extra HR versions of each training photo, downscaled further with Lanczos: a wallpaper at
    # ↓4 packs the edge density of the small evaluation photos; ↓2 alone is mostly smooth.
    hr_downscales: tuple[float, ...] = (2,)
    minutes: float | None = None  # wall-clock budget: the cosine decay spans it and ``steps`` is only a cap
    device: str = "auto"  # "auto" = CUDA when available


def _srcnn(cfg: SRConfig) -> torch.nn.Module:
    from ..archs.srcnn import SRCNN

    return SRCNN(scale=cfg.scale)


def _compact(cfg: SRConfig) -> torch.nn.Module:
    import importlib

    srvgg = importlib.import_module("spandrel.architectures.Compact.__arch.SRVGG")
    return srvgg.SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=cfg.num_feat, num_conv=cfg.num_conv,
                                 upscale=cfg.scale, act_type="prelu")


def _span(cfg: SRConfig) -> torch.nn.Module:
    # SPAN (Wan et al. 2024, arXiv:2311.12770): six fixed-depth attention blocks; num_feat = channels.
    from spandrel.architectures.SPAN import SPAN

    return SPAN(num_in_ch=3, num_out_ch=3, feature_channels=cfg.num_feat, upscale=cfg.scale)


ARCHS = {"srcnn": _srcnn, "compact": _compact, "span": _span}


def build_model(cfg: SRConfig) -> torch.nn.Module:
    return ARCHS[cfg.arch](cfg)


def _pool(paths: tuple[Path, ...], scale: int, hr_downscales: tuple[float, ...] = (2,),
          min_lr_side: int = 64, device: torch.device | str = "cpu") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(HR, LR) uint8 (3, H, W) pairs on ``device``: HR = photo ↓d Lanczos for each d, LR = HR ↓s bicubic."""
    pool = []
    for p in paths:
        photo = Image.open(p).convert("RGB")
        for d in hr_downscales:
            im = photo.resize((int(photo.width / d), int(photo.height / d)), Image.Resampling.LANCZOS)
            im = im.crop((0, 0, im.width - im.width % scale, im.height - im.height % scale))
            if min(im.size) // scale < min_lr_side:
                continue
            lr = im.resize((im.width // scale, im.height // scale), Image.Resampling.BICUBIC)
            pool.append((torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous().to(device),
                         torch.from_numpy(np.array(lr)).permute(2, 0, 1).contiguous().to(device)))
    return pool


def _batch(pool, cfg: SRConfig, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """LR and HR float32 patches in [0, 1], ``(B, 3, p, p)`` and ``(B, 3, p·s, p·s)``, on the pool's device."""
    weights = [1.0 if cfg.uniform_photos else lr.shape[1] * lr.shape[2] for _, lr in pool]
    p, s = cfg.lr_patch, cfg.scale
    lrs, hrs = [], []
    for hr, lr in rng.choices(pool, weights=weights, k=cfg.batch):
        for _ in range(10):
            y = rng.randrange(0, lr.shape[1] - p + 1)
            x = rng.randrange(0, lr.shape[2] - p + 1)
            a = lr[:, y:y + p, x:x + p]
            if cfg.min_patch_std <= 0 or a.float().std() / 255 >= cfg.min_patch_std:
                break
        lrs.append(a)
        hrs.append(hr[:, y * s:(y + p) * s, x * s:(x + p) * s])
    lr_b, hr_b = torch.stack(lrs), torch.stack(hrs)
    # One transform per sample, applied to each group at once (8 calls instead of B).
    ks = torch.tensor([rng.choice(DIHEDRAL) for _ in range(cfg.batch)])
    for k in ks.unique().tolist():
        idx = (ks == k).nonzero().flatten().to(lr_b.device)
        lr_b[idx] = dihedral(lr_b[idx], k)
        hr_b[idx] = dihedral(hr_b[idx], k)
    return lr_b.float() / 255, hr_b.float() / 255


def train(cfg: SRConfig) -> dict:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = training_device(cfg.device)
    data.require_corpus()
    run = Path(cfg.run_dir) / cfg.out_name
    run.mkdir(parents=True, exist_ok=True)
    log = open(run / "train.log", "a", buffering=1)
    split = data.split()
    pool = _pool(split.train, cfg.scale, tuple(cfg.hr_downscales), device=device)
    model = build_model(cfg)
    if cfg.init:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(cfg.init))
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    nparams = sum(p.numel() for p in model.parameters())
    log.write(f"config {json.dumps(asdict(cfg))} params {nparams} train_photos {len(split.train)} "
              f"device {device}\n")
    curve = []
    t0 = time.time()
    running = 0.0
    budget = cfg.minutes * 60 if cfg.minutes else None
    step = 0
    while step < cfg.steps:
        step += 1
        progress = min(1.0, (time.time() - t0) / budget) if budget else step / cfg.steps
        last = step == cfg.steps or progress >= 1.0
        for g in opt.param_groups:
            g["lr"] = cosine_lr(cfg.lr, progress)
        lr_img, hr_img = _batch(pool, cfg, rng)
        loss = F.l1_loss(model(lr_img), hr_img)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = running + loss.detach()  # a tensor: no device sync every step
        if step % 50 == 0:
            log.write(f"step {step} l1 {running.item() / 50:.5f} elapsed {time.time() - t0:.0f}s\n")
            running = 0.0
        if step % cfg.eval_every == 0 or last:
            model.eval()
            res = evaluate_sr(model, cfg.scale, split.heldout[:3], crop=256)
            model.train()
            curve.append({"step": step, "elapsed_s": round(time.time() - t0), **res["mean"]})
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(model, run / f"step{step:06d}.safetensors")
        if last:
            break
    out = WEIGHTS_DIR / f"{cfg.out_name}.safetensors"
    save_weights(model, out, metadata={"steps": str(step), "arch": cfg.arch, "scale": str(cfg.scale)})
    model.eval()
    final = evaluate_sr(model, cfg.scale, split.heldout)
    summary = {"config": asdict(cfg), "params": nparams, "steps_done": step, "device": str(device),
               "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU",
               "train_seconds": round(time.time() - t0),
               "curve": curve, "final": final}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"final {json.dumps(final['mean'])}\n")
    log.close()
    return summary
