"""Train the bundled fast style networks (Johnson et al. 2016) on CPU, time-capped.

Protocol: random crops of the corpus training photos (:func:`enhancers.training.data.split`,
never the held-out ones); the perceptual loss of :mod:`enhancers.style` through the
offline hybrid feature network (MobileNetV2 ImageNet + fixed-seed random VGG19): content
at MobileNetV2 block 6, Gram matrices at blocks 1, 3, 6 and VGG relu1_1–relu3_1 (blocks 10
and 13 are left out of training for speed, not of the evaluation), plus TV. The network adds its output to the input and starts as the identity
(last convolution zeroed), so the short CPU budget goes into style, not reconstruction. Adam; the learning rate decays over the last 30 % of the time budget.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import imageio
from ..archs.johnson import JohnsonNet
from ..errors import MissingDataError
from ..loader import load_model
from ..specs import WEIGHTS_DIR
from ..style import DEFAULT_LAYERS, PerceptualLoss, resize_long_side
from . import data
from .checkpoints import save_weights

STYLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "styles"


@dataclass
class StyleTrainConfig:
    style: str  # name of examples/styles/<style>.jpg; weights go to weights/style-<style>.safetensors
    minutes: float = 13.0
    crop: int = 96
    batch: int = 2
    range_weight: float = 100.0
    style_size: int = 256  # the style image's longer side when its Gram targets are taken
    width: int = 16
    res_blocks: int = 3
    lr: float = 4e-3
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 1.0
    photo_short_side: int = 256  # training photos are downscaled to this shorter side, then cropped
    # Gram layers used in training: the hybrid's, without MobileNetV2 blocks 10 and 13, whose
    # depthwise-convolution backward passes dominate the cost on CPU (the evaluation uses all).
    style_layers: tuple[str, ...] = ("mobilenet.1", "mobilenet.3", "mobilenet.6", "vgg.relu1_1", "vgg.relu2_1",
                                     "vgg.relu3_1")
    seed: int = 0
    threads: int = 1
    init: str | None = None  # continue from these weights (.safetensors) instead of the identity
    log_every: int = 10
    run_dir: str = "runs"


def _photo_pool(short_side: int) -> list[torch.Tensor]:
    """Training photos as uint8 ``(3, H, W)``, shorter side ``short_side``."""
    pool = []
    for p in data.split().train:
        im = Image.open(p).convert("RGB")
        s = short_side / min(im.size)
        im = im.resize((max(short_side, round(im.width * s)), max(short_side, round(im.height * s))),
                       Image.Resampling.LANCZOS)
        pool.append(torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous())
    if not pool:
        raise MissingDataError("no training photos: run `make photos` first")
    return pool


def _batch(pool: list[torch.Tensor], cfg: StyleTrainConfig, rng: random.Random) -> torch.Tensor:
    crops = []
    for im in rng.choices(pool, k=cfg.batch):
        y = rng.randrange(0, im.shape[1] - cfg.crop + 1)
        x = rng.randrange(0, im.shape[2] - cfg.crop + 1)
        c = im[:, y:y + cfg.crop, x:x + cfg.crop]
        crops.append(c.flip(-1) if rng.random() < 0.5 else c)
    return torch.stack(crops).float() / 255


def train(cfg: StyleTrainConfig) -> dict:
    """Train one style network for ``cfg.minutes`` of wall time; write weights and a log; return a summary."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    run = Path(cfg.run_dir) / f"style-{cfg.style}"
    run.mkdir(parents=True, exist_ok=True)
    style_img = resize_long_side(imageio.open_image(STYLES_DIR / f"{cfg.style}.jpg").rgb, cfg.style_size)
    feats = load_model("gatys/hybrid").module
    layers = DEFAULT_LAYERS["gatys/hybrid"]
    loss_fn = PerceptualLoss(feats, tuple(cfg.style_layers), layers.content, cfg.content_weight, cfg.style_weight,
                             cfg.tv_weight)
    targets = loss_fn.targets(None, style_img)
    net = JohnsonNet(cfg.width, cfg.res_blocks, value_range=1.0, residual=True)
    with torch.no_grad():  # start as the identity: only the change of style has to be learnt
        last = net.DeconvBlock[-1].conv_layer
        last.weight.zero_()
        last.bias.zero_()
    if cfg.init:
        from safetensors.torch import load_file

        net.load_state_dict(load_file(cfg.init))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    pool = _photo_pool(cfg.photo_short_side)
    budget = cfg.minutes * 60
    started = time.perf_counter()
    log = (run / "log.jsonl").open("a" if cfg.init else "w")
    step, ema = 0, None
    while (elapsed := time.perf_counter() - started) < budget:
        frac = elapsed / budget
        lr = cfg.lr if frac < 0.7 else cfg.lr * max(0.05, (1 - frac) / 0.3)
        for g in opt.param_groups:
            g["lr"] = lr
        x = _batch(pool, cfg, rng)
        with torch.no_grad():
            content = feats(x, layers.content)
        y = net.raw(x)
        # Straight-through clamp: the loss sees the image the app will show, but gradients also
        # reach clipped pixels (a plain clamp would stop them); a penalty pulls the raw output
        # back inside [0, 1].
        shown = y + (y.clamp(0, 1) - y).detach()
        losses = loss_fn(shown, targets, content_features=content)
        total = losses["total"] + cfg.range_weight * (y - y.clamp(0, 1)).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        step += 1
        vals = {k: float(v.detach()) for k, v in losses.items()}
        ema = vals if ema is None else {k: 0.95 * ema[k] + 0.05 * vals[k] for k in vals}
        if step % cfg.log_every == 0:
            rec = {"step": step, "seconds": round(time.perf_counter() - started, 1), "lr": lr,
                   **{k: round(v, 5) for k, v in ema.items()}}
            log.write(json.dumps(rec) + "\n")
            log.flush()
    log.close()
    out = WEIGHTS_DIR / f"style-{cfg.style}.safetensors"
    save_weights(net, out, metadata={"arch": "johnson", "width": str(cfg.width), "res_blocks": str(cfg.res_blocks),
                                     "value_range": "1.0", "residual": "true", "style": cfg.style, "steps": str(step)})
    summary = {"config": asdict(cfg), "steps": step, "seconds": round(time.perf_counter() - started, 1),
               "final_ema": ema, "params": sum(p.numel() for p in net.parameters()),
               "weights": str(out), "bytes": out.stat().st_size}
    if cfg.init and (run / "summary.json").is_file():  # a continued run: keep the earlier runs' record
        summary["previous"] = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
