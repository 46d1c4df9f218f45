"""The discriminator half of a GAN training step and the generator's exponential moving average, shared by the
enhancement, distillation and NoGAN colorization trainings."""

from __future__ import annotations

import copy
from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F


def discriminator_step(disc: torch.nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                       autocast: AbstractContextManager) -> dict[str, torch.Tensor]:
    """One update of ``disc`` with the standard GAN loss (binary cross-entropy: real → 1, fake → 0).

    ``fake`` is detached, so no gradient reaches the generator. ``autocast`` wraps the two forward passes
    (e.g. CPU bf16); the logits are taken in float32. Returns ``loss`` and the mean probabilities the
    discriminator gives real and fake images, ``p_real`` and ``p_fake`` (scalar tensors).
    """
    with autocast:
        real_logits = disc(real).float()
        fake_logits = disc(fake.detach()).float()
    loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": loss, "p_real": torch.sigmoid(real_logits).mean(), "p_fake": torch.sigmoid(fake_logits).mean()}


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of ``model`` in eval mode with gradients off: the start of its exponential moving average."""
    ema = copy.deepcopy(model).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """Move each parameter of ``ema`` towards ``model``'s: θ_ema ← decay·θ_ema + (1 − decay)·θ (decay 0 copies)."""
    for pe, pg in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pg, 1 - decay)
