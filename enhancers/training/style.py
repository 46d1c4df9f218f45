"""Train the bundled fast style networks (Johnson et al. 2016) on CPU, time-capped.

Protocol: random crops of the corpus training photos (:func:`enhancers.training.data.split`,
never the held-out ones); the perceptual loss of :mod:`enhancers.style` through the offline
ImageNet VGG16 (``gatys/vgg16``) at Johnson et al. 2016's layers: content at relu2_2, Gram
matrices at relu1_2, relu2_2, relu3_3 and relu4_3, plus TV (``--features gatys/hybrid`` with
its layers reproduces the earlier protocol). The network adds its output to the input and
starts as the identity (last convolution zeroed), so the short CPU budget goes into style, not
reconstruction; ``--init`` continues from earlier weights instead, so training can run in
several time-capped stages. Adam; the learning rate decays over the last 30 % of each stage.
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
from ..archs.johnson import JohnsonNet, resize_conv_state
from ..errors import InvalidInputError, MissingDataError
from ..loader import load_model
from ..specs import WEIGHTS_DIR
from ..style import PerceptualLoss, resize_long_side
from . import data
from .checkpoints import save_weights

STYLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "styles"
# (style layers, content layers) of each loss network. VGG16: Johnson et al. 2016's style-transfer layers. Hybrid
# (the earlier protocol): its Gatys layers without MobileNetV2 blocks 10 and 13, whose depthwise-convolution
# backward passes dominate the cost on CPU, and content at block 6.
TRAINING_LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gatys/vgg16": (("vgg.relu1_2", "vgg.relu2_2", "vgg.relu3_3", "vgg.relu4_3"), ("vgg.relu2_2",)),
    "gatys/hybrid": (("mobilenet.1", "mobilenet.3", "mobilenet.6", "vgg.relu1_1", "vgg.relu2_1", "vgg.relu3_1"),
                     ("mobilenet.6",)),
}


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
    features: str = "gatys/vgg16"  # the frozen loss network, a key of TRAINING_LAYERS
    style_layers: tuple[str, ...] | None = None  # None = TRAINING_LAYERS[features]
    content_layers: tuple[str, ...] | None = None
    seed: int = 0
    threads: int = 1
    init: str | None = None  # continue from these weights (.safetensors) instead of the identity
    upsample: str = "resize"  # JohnsonNet's upsampling; "transpose" weights given as init are converted
    out: str | None = None  # where the weights go; None = weights/style-<style>.safetensors
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
    if cfg.features not in TRAINING_LAYERS:
        raise InvalidInputError(f"loss network must be one of {', '.join(TRAINING_LAYERS)}, got {cfg.features!r}")
    cfg.style_layers = tuple(cfg.style_layers or TRAINING_LAYERS[cfg.features][0])
    cfg.content_layers = content_layers = tuple(cfg.content_layers or TRAINING_LAYERS[cfg.features][1])
    feats = load_model(cfg.features).module
    loss_fn = PerceptualLoss(feats, cfg.style_layers, content_layers, cfg.content_weight, cfg.style_weight,
                             cfg.tv_weight)
    targets = loss_fn.targets(None, style_img)
    net = JohnsonNet(cfg.width, cfg.res_blocks, value_range=1.0, residual=True, upsample=cfg.upsample)
    with torch.no_grad():  # start as the identity: only the change of style has to be learnt
        last = net.DeconvBlock[-1].conv_layer
        last.weight.zero_()
        last.bias.zero_()
    if cfg.init:
        from safetensors.torch import load_file

        state = load_file(cfg.init)
        net.load_state_dict(resize_conv_state(state) if cfg.upsample == "resize" else state)
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
            content = feats(x, content_layers)
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
    out = Path(cfg.out) if cfg.out else WEIGHTS_DIR / f"style-{cfg.style}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(net, out, metadata={"arch": "johnson", "width": str(cfg.width), "res_blocks": str(cfg.res_blocks),
                                     "value_range": "1.0", "residual": "true", "upsample": cfg.upsample,
                                     "style": cfg.style, "steps": str(step),
                                     "loss_network": cfg.features})
    summary = {"config": asdict(cfg), "steps": step, "seconds": round(time.perf_counter() - started, 1),
               "final_ema": ema, "params": sum(p.numel() for p in net.parameters()),
               "weights": str(out), "bytes": out.stat().st_size}
    if cfg.init and (run / "summary.json").is_file():  # a continued run: keep the earlier runs' record
        summary["previous"] = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary
