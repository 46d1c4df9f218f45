"""Train the bundled super-resolution models on CPU (or a GPU when present).

Protocol: HR = corpus photo downscaled ×2 with Lanczos; LR = Pillow bicubic
downscale of HR by the scale factor; L1 loss; Adam with cosine decay; fixed seed.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..specs import WEIGHTS_DIR
from . import data
from .checkpoints import save_weights
from .evaluate import evaluate_sr


@dataclass
class SRConfig:
    arch: str  # "compact" or "srcnn"
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
    hr_downscales: tuple[int, ...] = (2,)


def build_model(cfg: SRConfig) -> torch.nn.Module:
    if cfg.arch == "srcnn":
        from ..archs.srcnn import SRCNN

        return SRCNN(scale=cfg.scale)
    import importlib

    srvgg = importlib.import_module("spandrel.architectures.Compact.__arch.SRVGG")
    return srvgg.SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=cfg.num_feat, num_conv=cfg.num_conv,
                                 upscale=cfg.scale, act_type="prelu")


def _pool(paths: tuple[Path, ...], scale: int, hr_downscales: tuple[int, ...] = (2,),
          min_lr_side: int = 64) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(HR, LR) uint8 (3, H, W) pairs: HR = photo ↓d Lanczos for each d, LR = HR ↓s bicubic."""
    pool = []
    for p in paths:
        photo = Image.open(p).convert("RGB")
        for d in hr_downscales:
            im = photo.resize((photo.width // d, photo.height // d), Image.Resampling.LANCZOS)
            im = im.crop((0, 0, im.width - im.width % scale, im.height - im.height % scale))
            if min(im.size) // scale < min_lr_side:
                continue
            lr = im.resize((im.width // scale, im.height // scale), Image.Resampling.BICUBIC)
            pool.append((torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous(),
                         torch.from_numpy(np.array(lr)).permute(2, 0, 1).contiguous()))
    return pool


def _batch(pool, cfg: SRConfig, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    weights = [1.0 if cfg.uniform_photos else lr.shape[1] * lr.shape[2] for _, lr in pool]
    p, s = cfg.lr_patch, cfg.scale
    lrs, hrs = [], []
    for hr, lr in rng.choices(pool, weights=weights, k=cfg.batch):
        for _ in range(10):
            y = rng.randrange(0, lr.shape[1] - p + 1)
            x = rng.randrange(0, lr.shape[2] - p + 1)
            a = lr[:, y:y + p, x:x + p]
            if a.float().std() / 255 >= cfg.min_patch_std:
                break
        b = hr[:, y * s:(y + p) * s, x * s:(x + p) * s]
        k = rng.randrange(4)
        a, b = torch.rot90(a, k, (1, 2)), torch.rot90(b, k, (1, 2))
        if rng.random() < 0.5:
            a, b = a.flip(2), b.flip(2)
        lrs.append(a)
        hrs.append(b)
    return torch.stack(lrs).float() / 255, torch.stack(hrs).float() / 255


def train(cfg: SRConfig) -> dict:
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    run = Path(cfg.run_dir) / cfg.out_name
    run.mkdir(parents=True, exist_ok=True)
    log = open(run / "train.log", "a", buffering=1)
    split = data.split()
    if not data.corpus_photos():
        raise SystemExit("no corpus photos: run scripts/fetch_photos.sh first")
    pool = _pool(split.train, cfg.scale, tuple(cfg.hr_downscales))
    model = build_model(cfg)
    if cfg.init:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(cfg.init))
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    nparams = sum(p.numel() for p in model.parameters())
    log.write(f"config {json.dumps(asdict(cfg))} params {nparams} train_photos {len(split.train)}\n")
    curve = []
    t0 = time.time()
    running = 0.0
    for step in range(1, cfg.steps + 1):
        for g in opt.param_groups:
            g["lr"] = 1e-6 + 0.5 * (cfg.lr - 1e-6) * (1 + math.cos(math.pi * step / cfg.steps))
        lr_img, hr_img = _batch(pool, cfg, rng)
        loss = F.l1_loss(model(lr_img.to(device)), hr_img.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += loss.item()
        if step % 50 == 0:
            log.write(f"step {step} l1 {running / 50:.5f} elapsed {time.time() - t0:.0f}s\n")
            running = 0.0
        if step % cfg.eval_every == 0 or step == cfg.steps:
            model.eval()
            res = evaluate_sr(model.cpu(), cfg.scale, split.heldout[:3], crop=256)
            model.to(device).train()
            curve.append({"step": step, "elapsed_s": round(time.time() - t0), **res["mean"]})
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(model, run / f"step{step:06d}.safetensors")
    out = WEIGHTS_DIR / f"{cfg.out_name}.safetensors"
    save_weights(model, out, metadata={"steps": str(cfg.steps), "arch": cfg.arch, "scale": str(cfg.scale)})
    model.eval()
    final = evaluate_sr(model.cpu(), cfg.scale, split.heldout)
    summary = {"config": asdict(cfg), "params": nparams, "train_seconds": round(time.time() - t0),
               "curve": curve, "final": final}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"final {json.dumps(final['mean'])}\n")
    log.close()
    return summary
