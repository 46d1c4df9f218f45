"""NoGAN training of the colorization U-Net (Antic, DeOldify 2019, https://github.com/jantic/DeOldify#what-is-nogan).

Three time-capped stages, each a separate run folder under ``runs/`` (logs, checkpoints, ``summary.json``):

1. ``gen`` — generator pretraining: L1 on a*b* (+ 0.1 × L1 on L*) plus a feature (perceptual) loss: L1
   between ImageNet VGG16 activations (relu2_2, relu3_3, relu4_3, DeOldify's 20/70/10 weighting) of the
   photo and of the photo's own L* with the predicted a*b*. Starts from given weights (the shipped
   ``color/unet``), cosine decay over the budget.
2. ``critic`` — critic pretraining: a U-Net discriminator with spectral normalisation
   (:class:`enhancers.archs.unet_discriminator.UNetDiscriminatorSN`) learns real colour photos against the
   frozen stage-1 generator's colorizations (binary cross-entropy, per pixel). It sees L*a*b* scaled to
   [−1, 1]: the photo's own, and the photo's L* with the predicted a*b*. With ``critic_size`` both are first
   area-reduced to that size: casts, saturation and the hue of regions show at low resolution, and a critic
   at 64 px costs about a sixteenth of one at 128 px, so on a CPU it gets many more steps.
3. ``gan`` — a short GAN phase: the stage-1 losses plus an adversarial term, generator and critic updated in
   turn, batch-norm statistics frozen (re-estimated first), an exponential moving average (EMA) of the
   generator kept. It stops when the critic's running loss (mean of the last ``loss_window`` steps) has closed
   ``caught_up`` of its gap from its value at the start to 2 ln 2, the loss of a critic that cannot tell real
   from generated: the generator has caught up, which DeOldify found to happen early; or when the time budget
   runs out. Both are logged.

Data (the colour photo corpus's training split, opened upright), crops and the held-out evaluation are those of
:mod:`enhancers.training.colorize`; the curve is measured on the first four held-out photos of earlier runs (the
scikit-image evaluation photos), so it stays comparable with them. On CPU the forward
passes run under bfloat16 autocast (parameters and optimisers stay float32).
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..archs.unet_discriminator import UNetDiscriminatorSN
from ..lab import lab_scaled_to_rgb, ntsc_gray, rgb_to_lab_scaled
from ..pretrained import imagenet_normalize, vgg16_features_imagenet
from ..specs import WEIGHTS_DIR
from . import data
from .checkpoints import save_weights
from .colorize import L_WEIGHT, POOL_SHORT_SIDES, _batch, _pool, evaluate, new_model, training_photos
from .gan import discriminator_step, ema_update, frozen_copy
from .runs import LossMeans, cosine_lr, start_run

STAGES = ("gen", "critic", "gan")
# VGG16 ReLU indices relu2_2, relu3_3, relu4_3 and DeOldify's feature-loss layer weights (20, 70, 10) / 100.
FEATURE_LAYERS = {8: 0.2, 15: 0.7, 22: 0.1}
CHANCE_LOSS = 2 * math.log(2)  # real + fake binary cross-entropy of a critic that outputs 1/2 everywhere


@dataclass
class NoGANConfig:
    stage: str  # one of STAGES
    out_name: str  # run folder RUN_DIR/<out_name>; the last stage also writes WEIGHTS_DIR/<out_name>.safetensors
    minutes: float
    init: str | None = None  # generator weights to start from (stage gen: the shipped model; later: previous stage)
    critic_init: str | None = None  # stage gan: the pretrained critic
    arch: str = "mobilenet"  # the generator: one of enhancers.training.colorize.ARCHS
    pool_sides: tuple[int, ...] = POOL_SHORT_SIDES  # short sides the training photos are resized to
    batch: int = 8
    crop: int = 128
    lr: float = 2e-4
    d_lr: float = 2e-4
    feature_weight: float = 0.05
    adv_weight: float = 0.02
    d_feat: int = 32
    critic_size: int | None = None  # the critic sees crops area-reduced to this size (None: full crop)
    freeze_encoder: bool = False  # keep the generator's ImageNet encoder fixed (only the decoder learns)
    ema_decay: float = 0.98
    caught_up: float = 0.5  # stop stage gan when the critic's running loss has closed this share of its gap to 2 ln 2
    min_gan_steps: int = 40
    loss_window: int = 20  # steps in the critic's running loss
    eval_minutes: float = 4.0
    threads: int = 1
    seed: int = 0
    bf16: bool = True
    run_dir: str = "runs"
    weights_dir: str = str(WEIGHTS_DIR)


class FeatureLoss(torch.nn.Module):
    """Weighted L1 between ImageNet VGG16 activations (:data:`FEATURE_LAYERS`) of two RGB float32
    ``(N, 3, H, W)`` batches in [0, 1]; the second is the target (no gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.vgg = vgg16_features_imagenet()[:max(FEATURE_LAYERS) + 1]
        for p in self.vgg.parameters():
            p.requires_grad_(False)

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = imagenet_normalize(torch.cat([out, target]))
        loss = out.new_zeros((), dtype=torch.float32)
        for i, layer in enumerate(self.vgg):
            x = layer(x)
            if i in FEATURE_LAYERS:
                a, b = x.float().chunk(2)
                loss = loss + FEATURE_LAYERS[i] * F.l1_loss(a, b.detach())
        return loss


def colour_of(lightness_from: torch.Tensor, ab_from: torch.Tensor) -> torch.Tensor:
    """sRGB of L* from one scaled L*a*b* batch and a*b* from another (``(N, 3, H, W)`` each), clipped to [0, 1].

    Training sees what inference shows: the photo's own L* with the predicted chroma.
    """
    return lab_scaled_to_rgb(torch.cat([lightness_from[:, :1], ab_from[:, 1:]], dim=1)).clamp(0, 1)


@torch.no_grad()
def recalibrate_batch_norm(model: torch.nn.Module, pool, cfg: "NoGANConfig", rng: random.Random,
                           batches: int = 40, crop: int = 256) -> None:
    """Replace the batch-norm running statistics by their average over ``batches`` fresh batches.

    With batches of 8 crops from a few dozen photos, the running statistics (momentum 0.1) follow the last ten
    or so batches, and held-out RGB PSNR moved by ~0.4 dB between checkpoints 15 steps apart; a cumulative
    average over many batches removes that noise.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    was_training = model.training
    saved = [m.momentum for m in norms]
    model.train()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average
    big = copy.copy(cfg)
    big.crop = crop
    for _ in range(batches):
        model(ntsc_gray(_batch(pool, big, rng)))
    for m, mom in zip(norms, saved):
        m.momentum = mom
    model.train(was_training)


def freeze_batch_norm(model: torch.nn.Module) -> None:
    """Batch-norm layers in eval mode: fine-tuning uses, and no longer updates, the running statistics."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


def critic_view(lab: torch.Tensor, size: int | None) -> torch.Tensor:
    """What the critic sees of scaled L*a*b* ``(N, 3, H, W)``: area-reduced to ``size`` × ``size``, or as is."""
    return lab if size is None or lab.shape[-1] <= size else F.interpolate(lab, size=(size, size), mode="area")


def caught_up_threshold(start_loss: float, caught_up: float) -> float:
    """The critic running loss at which stage gan stops: ``caught_up`` of the way from ``start_loss`` to 2 ln 2.

    A critic that starts at or above chance (it lost to the generator before the phase began, e.g. after the
    batch-norm recalibration changed the colorizations) has no gap to close: ``inf``, so the time budget decides.
    """
    if start_loss >= CHANCE_LOSS:
        return math.inf
    return start_loss + caught_up * (CHANCE_LOSS - start_loss)


def train(cfg: NoGANConfig) -> dict:
    """Run one NoGAN stage; returns (and writes to ``RUN_DIR/<out_name>/summary.json``) its summary."""
    if cfg.stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {cfg.stage!r}")
    run, log, rng, _ = start_run(cfg.run_dir, cfg.out_name, cfg.seed, cfg.threads)
    photos = training_photos()
    pool = _pool(photos, tuple(cfg.pool_sides))
    heldout4 = data.split().heldout[:4]  # the scikit-image evaluation photos, as in earlier runs' curves
    gen = new_model(cfg.arch, cfg.init).train()
    if cfg.freeze_encoder:
        gen.encoder.requires_grad_(False)
    if cfg.stage == "gan":  # fine-tune with fixed, well-estimated batch-norm statistics
        recalibrate_batch_norm(gen, pool, cfg, rng)
        freeze_batch_norm(gen)
    ema = frozen_copy(gen)
    features = FeatureLoss()
    critic = UNetDiscriminatorSN(cfg.d_feat).train()
    if cfg.critic_init:
        from safetensors.torch import load_file

        critic.load_state_dict(load_file(cfg.critic_init))
    opt_g = torch.optim.Adam([p for p in gen.parameters() if p.requires_grad], lr=cfg.lr, betas=(0.9, 0.99))
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.d_lr, betas=(0.9, 0.99))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16)
    log.write(f"config {json.dumps(asdict(cfg))} train_photos {len(photos)}: {[p.id for p in photos]}\n")
    curve: list[dict] = []
    if cfg.stage != "critic":
        curve.append({"step": 0, "elapsed_s": 0, **evaluate(ema, heldout4, crop=384)["mean"]})
        log.write(f"eval {json.dumps(curve[-1])}\n")
    budget = cfg.minutes * 60
    t0 = time.time()
    next_eval = cfg.eval_minutes * 60
    step, window, means = 0, [], LossMeans(log, 10)
    start_loss = threshold = None
    stop_reason = "time budget"
    while True:
        elapsed = time.time() - t0
        if elapsed >= budget:
            break
        step += 1
        rgb = _batch(pool, cfg, rng)
        target = rgb_to_lab_scaled(rgb)
        gray = ntsc_gray(rgb)
        terms: dict[str, torch.Tensor] = {}
        if cfg.stage == "gen":
            for g in opt_g.param_groups:
                g["lr"] = cosine_lr(cfg.lr, elapsed / budget)
        if cfg.stage in ("gen", "gan"):
            with autocast:
                pred = gen(gray)
            pred = pred.float()
            fake = colour_of(target, pred)
            fake_lab = torch.cat([target[:, :1], pred[:, 1:]], dim=1)
            terms["l1_ab"] = (pred[:, 1:] - target[:, 1:]).abs().mean()
            terms["l1_l"] = (pred[:, :1] - target[:, :1]).abs().mean()
            with autocast:
                terms["feature"] = features(fake, rgb)
            loss_g = terms["l1_ab"] + L_WEIGHT * terms["l1_l"] + cfg.feature_weight * terms["feature"]
            if cfg.stage == "gan":
                critic.requires_grad_(False)
                with autocast:
                    logits = critic(critic_view(fake_lab, cfg.critic_size)).float()
                terms["adv"] = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
                loss_g = loss_g + cfg.adv_weight * terms["adv"]
                critic.requires_grad_(True)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            terms["loss_g"] = loss_g
            ema_update(ema, gen, cfg.ema_decay if cfg.stage == "gan" else 0.0)  # outside the GAN phase: a copy
            with torch.no_grad():
                for be, bg in zip(ema.buffers(), gen.buffers()):
                    be.copy_(bg)
            fake_lab = fake_lab.detach()
        else:
            for g in opt_d.param_groups:
                g["lr"] = cosine_lr(cfg.d_lr, elapsed / budget)
            with torch.no_grad(), autocast:
                pred = gen.eval()(gray).float()
            fake_lab = torch.cat([target[:, :1], pred[:, 1:]], dim=1)
        if cfg.stage in ("critic", "gan"):
            d = discriminator_step(critic, opt_d, critic_view(target, cfg.critic_size),
                                   critic_view(fake_lab, cfg.critic_size), autocast)
            loss_d = d["loss"]
            terms.update(critic=loss_d, p_real=d["p_real"], p_fake=d["p_fake"])
            window = (window + [float(loss_d.detach())])[-cfg.loss_window:]
        running = f" critic_running {sum(window) / len(window):.4f}" if window else ""
        means.update(step, terms, time.time() - t0, running)
        if cfg.stage == "gan" and len(window) == cfg.loss_window:
            running = sum(window) / len(window)
            if start_loss is None:
                start_loss = running
                threshold = caught_up_threshold(start_loss, cfg.caught_up)
                log.write(f"critic running loss at start {start_loss:.4f}: stop at {threshold:.4f}\n")
            elif step >= cfg.min_gan_steps and running >= threshold:
                stop_reason = (f"critic caught up at step {step}: running loss {running:.4f} ≥ {threshold:.4f} "
                               f"(start {start_loss:.4f} + {cfg.caught_up:g} × (2 ln 2 − start))")
                log.write(f"stop {stop_reason}\n")
                break
        if cfg.stage != "critic" and time.time() - t0 >= next_eval:
            next_eval += cfg.eval_minutes * 60
            curve.append({"step": step, "elapsed_s": round(time.time() - t0),
                          **evaluate(ema, heldout4, crop=384)["mean"]})
            log.write(f"eval {json.dumps(curve[-1])}\n")
            save_weights(ema, run / "latest.safetensors")
    train_s = round(time.time() - t0)
    summary = {"config": asdict(cfg), "steps": step, "train_seconds": train_s, "stop": stop_reason,
               "train_photos": [p.id for p in photos]}
    if cfg.stage == "critic":
        save_weights(critic, run / "critic.safetensors")
    else:
        if cfg.stage == "gen":
            recalibrate_batch_norm(ema, pool, cfg, rng)
        curve.append({"step": step, "elapsed_s": train_s, **evaluate(ema, heldout4, crop=384)["mean"]})
        log.write(f"eval {json.dumps(curve[-1])}\n")
        save_weights(ema, run / "generator.safetensors")
        if cfg.stage == "gan":
            save_weights(critic, run / "critic.safetensors")
            out = Path(cfg.weights_dir) / f"{cfg.out_name}.safetensors"
            out.parent.mkdir(parents=True, exist_ok=True)
            save_weights(ema, out, metadata={"training": "NoGAN (gen, critic, gan stages)", "steps": str(step)})
            summary["weights"] = str(out)
    summary["curve"] = curve
    (run / "summary.json").write_text(json.dumps(summary, indent=1))
    log.write(f"done {stop_reason} {json.dumps(curve[-1]) if curve else ''}\n")
    log.close()
    return summary
