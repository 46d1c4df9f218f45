"""Train the bundled GAN enhancement generator in two stages, as Real-ESRGAN does (Wang et al. 2021,
https://arxiv.org/abs/2107.10833):

1. ``psnr`` (Real-ESRNet): L1 only, on photos degraded on the fly by the second-order model
   (:func:`enhancers.degrade.second_order`), starting from the bundled bicubic ×2 SR weights.
2. ``gan``: L1 1.0 + VGG16 perceptual 1.0 + adversarial 0.1 against a U-Net discriminator with spectral
   normalisation, starting from stage 1; an exponential moving average (EMA) of the generator is kept and shipped.
   Continuations of this stage can add EnhanceNet's texture loss (``texture_weight``, :class:`VGGLosses`).

On CPU the forward passes run under bfloat16 autocast (parameters and optimiser stay float32).
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

from .. import degrade
from ..metrics import psnr_rgb
from ..pretrained import imagenet_normalize, vgg16_features_imagenet
from ..self_ensemble import DIHEDRAL, dihedral
from ..specs import WEIGHTS_DIR
from ..style import gram_matrix
from . import data
from .checkpoints import save_weights
from .gan import discriminator_step, ema_update, frozen_copy
from .runs import LossMeans, cosine_lr, start_run

# Real-ESRGAN's ranges (paper defaults) ask a 23-block network to undo ↓6 resizes and σ 30 noise twice over; a
# 48-channel compact network trained on them learns mostly to smooth (held-out LPIPS went from 0.35 to 0.42 in
# a first stage-1 run). "moderate" keeps the second-order structure and kernel types with narrower ranges.
DEGRADATIONS = {
    "paper": degrade.DEFAULT_CONFIG,
    "moderate": degrade.SecondOrderConfig(
        first=degrade.StageConfig(blur_sigma=(0.2, 2.0), resize_range=(0.5, 1.5), noise_sigma=(1.0, 15.0),
                                  poisson_scale=(0.05, 1.5), jpeg_quality=(40, 95)),
        second=degrade.StageConfig(blur_sigma=(0.2, 1.0), resize_probs=(0.3, 0.4, 0.3), resize_range=(0.6, 1.2),
                                   noise_sigma=(1.0, 10.0), poisson_scale=(0.05, 1.0), jpeg_quality=(40, 95)),
        second_blur_prob=0.5, final_sinc_prob=0.5),
    # One real degradation pass in the order a camera and a web upload apply them: blur at full size, resize to
    # the target, noise, JPEG (stage 1 keeps the size and adds only traces of noise and a high-quality JPEG).
    "mild": degrade.SecondOrderConfig(
        first=degrade.StageConfig(blur_sigma=(0.2, 2.0), resize_probs=(0.0, 0.0, 1.0), noise_sigma=(0.1, 1.0),
                                  poisson_scale=(0.05, 0.1), jpeg_quality=(90, 95)),
        second=degrade.StageConfig(blur_sigma=(0.2, 1.0), resize_probs=(0.0, 0.0, 1.0), noise_sigma=(1.0, 15.0),
                                   poisson_scale=(0.05, 1.5), jpeg_quality=(40, 95)),
        second_blur_prob=0.0, final_sinc_prob=0.2),
}
# Named mixtures: each patch draws one of the configurations above, with these odds.
MIXTURES = {"mixed": (("mild", 0.5), ("moderate", 0.5))}

# Pre-activation VGG16 convolutions conv1_2, conv2_2, conv3_3, conv4_3, conv5_3 with Real-ESRGAN's layer weights.
PERCEPTUAL_LAYERS = {2: 0.1, 7: 0.1, 14: 1.0, 21: 1.0, 28: 1.0}
# EnhanceNet's texture loss (Sajjadi et al. 2017, https://arxiv.org/abs/1612.07919, §4.2) on VGG16's relu1_2,
# relu2_2 and relu3_3: Gram matrices per 16×16 image patch, so the output must match the photo's local texture
# statistics (grain, foliage) rather than its pixels, which L1 and the feature loss average into smooth areas.
TEXTURE_LAYERS = (3, 8, 15)
TEXTURE_PATCH = 16


@dataclass
class EnhanceConfig:
    stage: str  # "psnr" or "gan"
    out_name: str
    minutes: float
    init: str | None = None
    init_disc: str | None = None  # continue a GAN stage against its saved discriminator
    scale: int = 2
    num_feat: int = 48
    num_conv: int = 10
    batch: int = 12
    hr_patch: int = 96
    lr: float = 2e-4
    d_lr: float = 1e-4
    pixel_weight: float = 1.0
    perceptual_weight: float = 1.0
    texture_weight: float = 0.0
    texture_layer_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)  # relu1_2, relu2_2, relu3_3
    gan_weight: float = 0.1
    ema_decay: float = 0.995  # a ~200-step window: this run is ~1,500 steps, not Real-ESRGAN's 400k
    d_feat: int = 32
    d_input_gain: float = 1.0  # see UNetDiscriminatorSN: > 1 lets the spectrally normalised critic learn sooner
    d_warmup_minutes: float = 0.0  # train only the discriminator first, against the frozen generator (as NoGAN)
    usm_gt: bool = True  # Real-ESRGAN sharpens the ground truth (unsharp mask) for the L1 and perceptual terms
    threads: int = 2
    seed: int = 0
    eval_every: int = 150
    run_dir: str = "runs"
    hr_downscales: tuple[float, ...] = (2, 3, 4)
    bf16: bool = True
    degradation: str = "moderate"  # a key of DEGRADATIONS or MIXTURES


def build_generator(cfg: EnhanceConfig) -> torch.nn.Module:
    import importlib

    srvgg = importlib.import_module("spandrel.architectures.Compact.__arch.SRVGG")
    return srvgg.SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=cfg.num_feat, num_conv=cfg.num_conv,
                                 upscale=cfg.scale, act_type="prelu")


def srvgg_conv_indices(state: dict[str, torch.Tensor]) -> list[int]:
    """The indices N of an SRVGGNetCompact state dict's convolutions (``body.N.weight`` with 4 dimensions), in
    order: the first, the middle ones, the last (``[0, 2, 4, …]`` for a well-formed network)."""
    return sorted(int(k.split(".")[1]) for k in state
                  if k.startswith("body.") and k.endswith(".weight") and state[k].ndim == 4)


def same_size_weights(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SRVGGNetCompact ×2 weights → upscale-1 weights whose output is exactly the ×2 output reduced by 2×2 box
    averaging.

    The ×2 network ends in a convolution with 3·4 output channels, pixel-shuffled into 2×2 blocks, plus the
    input upsampled with nearest neighbours; averaging each block is linear, so it equals that convolution with
    its weights and biases averaged over each colour's four sub-pixel channels, and the nearest-upsampled input
    averages back to the input itself (upscale 1's skip). Used to start the same-size generator.

    Raises:
        ValueError: ``state`` is not a ×2 SRVGGNetCompact state dict (last convolution without 12 output channels).
    """
    convs = srvgg_conv_indices(state)
    if not convs:
        raise ValueError("expected SRVGGNetCompact weights (body.N.weight convolutions), found none")
    last = f"body.{convs[-1]}.weight"
    weight, bias = state[last], state[last.replace(".weight", ".bias")]
    if weight.shape[0] != 12:
        raise ValueError(f"expected a ×2 network's last convolution with 12 output channels (3 colours × 2×2), "
                         f"got {weight.shape[0]} in {last}")
    out = dict(state)
    out[last] = weight.reshape(3, 4, *weight.shape[1:]).mean(1).contiguous()
    out[last.replace(".weight", ".bias")] = bias.reshape(3, 4).mean(1).contiguous()
    return out


def patch_grams(features: torch.Tensor, patch: int) -> torch.Tensor:
    """Gram matrices of non-overlapping ``patch`` × ``patch`` windows of float ``(N, C, H, W)`` features (H and W
    multiples of ``patch``), each normalised as :func:`enhancers.style.gram_matrix`: float ``(N·H·W/patch², C, C)``."""
    n, c, h, w = features.shape
    windows = (features.reshape(n, c, h // patch, patch, w // patch, patch)
               .permute(0, 2, 4, 1, 3, 5).reshape(-1, c, patch, patch))
    return gram_matrix(windows)


class VGGLosses(torch.nn.Module):
    """Losses on ImageNet VGG16 features of two RGB float32 ``(N, 3, H, W)`` batches in [0, 1] (H and W multiples
    of 16), from one forward pass: ``perceptual``, L1 between pre-activation conv1_2 … conv5_3 (Real-ESRGAN's layer
    weights), and ``texture``, the mean squared difference of per-patch Gram matrices (EnhanceNet's L_T), computed
    only when ``texture_layer_weights`` (for relu1_2, relu2_2, relu3_3) are given."""

    def __init__(self, texture_layer_weights: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.vgg = vgg16_features_imagenet()[:max(PERCEPTUAL_LAYERS) + 1]
        self.texture = dict(zip(TEXTURE_LAYERS, texture_layer_weights)) if texture_layer_weights else {}

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        x = imagenet_normalize(torch.cat([out, target]))
        losses = {"perceptual": out.new_zeros(())}
        if self.texture:
            losses["texture"] = out.new_zeros(())
        for i, layer in enumerate(self.vgg):
            x = layer(x)
            if i in PERCEPTUAL_LAYERS:
                a, b = x.float().chunk(2)
                losses["perceptual"] = losses["perceptual"] + PERCEPTUAL_LAYERS[i] * F.l1_loss(a, b.detach())
            if i in self.texture:
                a, b = x.float().chunk(2)
                patch = TEXTURE_PATCH * a.shape[-1] // out.shape[-1]
                losses["texture"] = losses["texture"] + self.texture[i] * F.mse_loss(
                    patch_grams(a, patch), patch_grams(b, patch).detach())
        return losses


def _pool(paths, downscales: tuple[float, ...], min_side: int) -> list[torch.Tensor]:
    """HR uint8 ``(3, H, W)`` images: each photo downscaled by each factor with Lanczos."""
    pool = []
    for p in paths:
        photo = Image.open(p).convert("RGB")
        for d in downscales:
            im = photo.resize((int(photo.width / d), int(photo.height / d)), Image.Resampling.LANCZOS)
            if min(im.size) >= min_side:
                pool.append(torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous())
    return pool


def _batch(pool, cfg: EnhanceConfig, rng: random.Random, np_rng: np.random.Generator
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Degraded LQ ``(B, 3, p/s, p/s)`` and HR ``(B, 3, p, p)`` float32 patches in [0, 1]."""
    p = cfg.hr_patch
    weights = [t.shape[1] * t.shape[2] for t in pool]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the per-patch degradations are small ops: extra threads only cost (~70× at 2)
    hrs, lqs = [], []
    for img in rng.choices(pool, weights=weights, k=cfg.batch):
        y = rng.randrange(0, img.shape[1] - p + 1)
        x = rng.randrange(0, img.shape[2] - p + 1)
        hr = dihedral(img[None, :, y:y + p, x:x + p].float() / 255, rng.choice(DIHEDRAL))
        hrs.append(hr)
        lqs.append(degrade.second_order(hr, cfg.scale, np_rng, DEGRADATIONS[_pick_degradation(cfg, rng)]))
    torch.set_num_threads(threads)
    return torch.cat(lqs), torch.cat(hrs)


def _pick_degradation(cfg: EnhanceConfig, rng: random.Random) -> str:
    if cfg.degradation not in MIXTURES:
        return cfg.degradation
    names, odds = zip(*MIXTURES[cfg.degradation])
    return rng.choices(names, weights=odds)[0]


def _heldout(scale: int, n: int = 3, crop: int = 256) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(LQ, HR) pairs from the first held-out photos with the fixed evaluation degradation at ``scale``."""
    pairs = []
    for p in data.split().heldout[:n]:
        hr = data.prepare_hr(Path(p), crop=crop, multiple=4)
        pairs.append((degrade.fixed_mix(hr, scale, seed=0), hr))
    return pairs


@torch.no_grad()
def _evaluate(model: torch.nn.Module, pairs, niqe_pairs=None) -> dict:
    """Mean RGB PSNR of ``model`` on the held-out pairs; with ``niqe_pairs`` (the GAN stage) also LPIPS-Alex, and
    NIQE on those larger crops (NIQE's 96-px blocks need more than a 256-px crop gives)."""
    model.eval()
    outs = [(model(lq).clamp(0, 1), hr) for lq, hr in pairs]
    result = {"psnr": round(float(np.mean([psnr_rgb(o, hr) for o, hr in outs])), 3)}
    if niqe_pairs is not None:
        from ..metrics import lpips, niqe

        result["lpips"] = round(float(np.mean([lpips(o, hr) for o, hr in outs])), 4)
        result["niqe"] = round(float(np.mean([niqe(model(lq).clamp(0, 1)) for lq, _ in niqe_pairs])), 3)
    model.train()
    return result


def _warm_up_discriminator(gen, disc, opt_d, pool, cfg: EnhanceConfig, rng, np_rng, autocast, log) -> None:
    """Discriminator steps only, against the frozen generator, for ``cfg.d_warmup_minutes`` (DeOldify's NoGAN
    pretrains its critic the same way), so that the GAN stage starts against a critic that already tells the
    generator's output from photos."""
    t0 = time.time()
    means = LossMeans(log, 25, "d-warmup")
    step = 0
    while time.time() - t0 < cfg.d_warmup_minutes * 60:
        step += 1
        lq, hr = _batch(pool, cfg, rng, np_rng)
        with torch.no_grad(), autocast:
            out = gen(lq).float()
        means.update(step, discriminator_step(disc, opt_d, hr, out, autocast), time.time() - t0)


def write_same_size(src: str, out_name: str) -> Path:
    """Convert ×2 generator weights ``src`` (any width and depth) with :func:`same_size_weights` into
    ``weights/<out_name>.safetensors`` (the same-size generator's PSNR end is the ×2 PSNR stage converted).
    Raises ValueError for other weights."""
    state = same_size_weights(load_file(src))
    convs = sum(1 for k, v in state.items() if k.startswith("body.") and k.endswith(".weight") and v.ndim == 4)
    gen = build_generator(EnhanceConfig(stage="psnr", out_name=out_name, minutes=0, scale=1,
                                        num_feat=state["body.0.weight"].shape[0], num_conv=convs - 2))
    gen.load_state_dict(state)
    out_path = WEIGHTS_DIR / f"{out_name}.safetensors"
    save_weights(gen, out_path, metadata={"stage": "psnr", "scale": "1", "converted_from": Path(src).name})
    return out_path


def train(cfg: EnhanceConfig) -> dict:
    from ..sharpen import unsharp_mask

    if cfg.stage not in ("psnr", "gan"):
        raise ValueError(f"stage must be psnr or gan, got {cfg.stage!r}")
    run, log, rng, np_rng = start_run(cfg.run_dir, cfg.out_name, cfg.seed, cfg.threads)
    split = data.split()
    pool = _pool(split.train, tuple(cfg.hr_downscales), cfg.hr_patch)
    pairs = _heldout(cfg.scale)
    gan = cfg.stage == "gan"
    niqe_pairs = _heldout(cfg.scale, crop=512) if gan else None
    gen = build_generator(cfg)
    if cfg.init:
        state = load_file(cfg.init)
        last = f"body.{len(gen.body) - 1}.weight"
        if cfg.scale == 1 and state[last].shape != gen.state_dict()[last].shape:
            state = same_size_weights(state)  # a ×2 network to start the same-size one from (checked there)
        gen.load_state_dict(state)
    gen.train()
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    if gan:
        from ..archs.unet_discriminator import UNetDiscriminatorSN

        disc = UNetDiscriminatorSN(cfg.d_feat, cfg.d_input_gain).train()
        if cfg.init_disc:
            disc.load_state_dict(load_file(cfg.init_disc))
        opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.d_lr, betas=(0.9, 0.99))
        vgg_losses = VGGLosses(cfg.texture_layer_weights if cfg.texture_weight > 0 else None)
        ema = frozen_copy(gen)
    log.write(f"config {json.dumps(asdict(cfg))} train_images {len(pool)}\n")
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16)
    if gan and cfg.d_warmup_minutes > 0:
        _warm_up_discriminator(gen, disc, opt_d, pool, cfg, rng, np_rng, autocast, log)
    curve = [{"step": 0, "elapsed_s": 0, **_evaluate(gen, pairs, niqe_pairs)}]
    log.write(f"eval {json.dumps(curve[-1])}\n")
    t0 = time.time()
    budget = cfg.minutes * 60
    step = 0
    means = LossMeans(log, 25)
    while True:
        step += 1
        progress = min(1.0, (time.time() - t0) / budget)
        last = progress >= 1.0
        if not gan:  # cosine decay over the wall-clock budget; the GAN stage keeps a constant rate
            for g in opt_g.param_groups:
                g["lr"] = cosine_lr(cfg.lr, progress)
        lq, hr = _batch(pool, cfg, rng, np_rng)
        gt = unsharp_mask(hr) if cfg.usm_gt else hr
        with autocast:
            out = gen(lq)
        out = out.float()
        losses = {"l1": cfg.pixel_weight * F.l1_loss(out, gt)}
        if gan:
            with autocast:
                vgg = vgg_losses(out, gt)
                losses["perceptual"] = cfg.perceptual_weight * vgg["perceptual"]
                if "texture" in vgg:
                    losses["texture"] = cfg.texture_weight * vgg["texture"]
                for p in disc.parameters():
                    p.requires_grad_(False)
                fake_logits = disc(out).float()
            losses["adv"] = cfg.gan_weight * F.binary_cross_entropy_with_logits(
                fake_logits, torch.ones_like(fake_logits))
        loss_g = sum(losses.values())
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if gan:
            for p in disc.parameters():
                p.requires_grad_(True)
            d = discriminator_step(disc, opt_d, hr, out, autocast)
            losses.update(d=d["loss"], d_real=d["p_real"], d_fake=d["p_fake"])
            ema_update(ema, gen, cfg.ema_decay)
        means.update(step, losses, time.time() - t0)
        if step % cfg.eval_every == 0 or last:
            model = ema if gan else gen
            curve.append({"step": step, "elapsed_s": round(time.time() - t0), **_evaluate(model, pairs, niqe_pairs)})
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(model, run / "latest.safetensors")
            if gan:
                save_weights(gen, run / "generator-raw.safetensors")
                save_weights(disc, run / "disc.safetensors")
        if last:
            break
    final = ema if gan else gen
    out_path = WEIGHTS_DIR / f"{cfg.out_name}.safetensors"
    save_weights(final, out_path, metadata={"steps": str(step), "stage": cfg.stage, "scale": str(cfg.scale)})
    summary = {"config": asdict(cfg), "steps_done": step, "train_seconds": round(time.time() - t0),
               "train_images": len(pool), "curve": curve}
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"done {json.dumps(curve[-1])}\n")
    log.close()
    return summary
