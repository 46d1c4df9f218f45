"""Small networks on 28×28 MNIST digits for the latent-space explorer.

Digits are float32 ``(N, 1, 28, 28)`` in [0, 1], white digit on black (as MNIST).

- :class:`Autoencoder2D`: a convolutional autoencoder with a 2-D latent; with
  ``variational=True`` it is a VAE (Kingma & Welling 2014, https://arxiv.org/abs/1312.6114).
- :class:`Generator` / :class:`Discriminator`: a small DCGAN (Radford et al. 2016,
  https://arxiv.org/abs/1511.06434).
- :class:`DigitClassifier`: a small CNN that labels digits (LeCun et al. 1998 style).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import BuiltModel


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sample ``z = mu + sigma·eps`` with ``eps ~ N(0, I)`` and ``sigma = exp(logvar / 2)``.

    Args:
        mu, logvar: float ``(N, D)``, the encoder's Gaussian q(z|x).
        generator: optional torch generator for a reproducible ``eps``.

    Returns:
        float ``(N, D)``; differentiable in ``mu`` and ``logvar`` (the reparametrisation trick).
    """
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) ‖ N(0, I)) per sample, summed over latent dims.

    ``0.5 · Σ (mu² + exp(logvar) − 1 − logvar)``: 0 for the prior itself, 0.5 per
    dimension for ``mu = 1, logvar = 0``.

    Args:
        mu, logvar: float ``(N, D)``.

    Returns:
        float ``(N,)`` in nats.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


class Autoencoder2D(nn.Module):
    """Convolutional (variational) autoencoder with a 2-D latent.

    Encoder: 28 → 14 → 7 → 4 with strided convolutions, then a 128-unit layer and
    the latent head (``mu`` and ``logvar`` for the VAE, ``z`` for the plain AE).
    Decoder: 2 → 128 → 64·4·4, then transposed convolutions 4 → 7 → 14 → 28 and a
    3×3 output convolution giving Bernoulli logits.
    """

    def __init__(self, variational: bool = True, width: int = 64, hidden: int = 128) -> None:
        super().__init__()
        self.variational = variational
        self.register_buffer("variational_flag", torch.tensor(float(variational)), persistent=True)
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width // 2, 4, 2, 1), nn.LeakyReLU(0.2),            # 14
            nn.Conv2d(width // 2, width, 4, 2, 1), nn.LeakyReLU(0.2),        # 7
            nn.Conv2d(width, width, 3, 2, 1), nn.LeakyReLU(0.2),             # 4
            nn.Flatten(), nn.Linear(width * 16, hidden), nn.LeakyReLU(0.2))
        self.head = nn.Linear(hidden, 4 if variational else 2)
        self.width = width
        self.decoder_fc = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(0.2),
                                        nn.Linear(hidden, width * 16), nn.LeakyReLU(0.2))
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(width, width, 3, 2, 1), nn.LeakyReLU(0.2),         # 7
            nn.ConvTranspose2d(width, width, 4, 2, 1), nn.LeakyReLU(0.2),         # 14
            nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.LeakyReLU(0.2),    # 28
            nn.Conv2d(width // 2, 1, 3, 1, 1))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Digits ``(N, 1, 28, 28)`` in [0, 1] → ``(mu (N, 2), logvar (N, 2) or None for the AE)``."""
        h = self.head(self.encoder(x))
        if self.variational:
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar.clamp(-12.0, 8.0)
        return h, None

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(N, 2)`` → Bernoulli logits ``(N, 1, 28, 28)``."""
        h = self.decoder_fc(z).view(-1, self.width, 4, 4)
        return self.decoder(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(N, 2)`` → digits ``(N, 1, 28, 28)`` float in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x`` through the latent mean: ``(N, 1, 28, 28)`` in [0, 1]."""
        return self.decode(self.encode(x)[0])


class Generator(nn.Module):
    """DCGAN generator: ``z (N, latent_dim)`` → linear 128·7·7 → ConvT 64 (14) → ConvT 1 (28), tanh."""

    def __init__(self, latent_dim: int = 32, width: int = 64) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.width = width
        self.fc = nn.Sequential(nn.Linear(latent_dim, 2 * width * 49, bias=False),
                                nn.BatchNorm1d(2 * width * 49), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, latent_dim)`` → ``(N, 1, 28, 28)`` in [−1, 1] (the training range)."""
        return self.net(self.fc(z).view(-1, 2 * self.width, 7, 7))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, latent_dim)`` → digits ``(N, 1, 28, 28)`` float in [0, 1]."""
        return (self.forward(z) + 1.0) * 0.5


class Discriminator(nn.Module):
    """DCGAN discriminator: conv 64 (14) → conv 128 + BN (7) → linear logit; LeakyReLU 0.2.

    Takes ``(N, 1, 28, 28)`` in [−1, 1]; no BatchNorm on the first layer (Radford et al.).
    """

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(2 * width * 49, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 1, 28, 28)`` → real/fake logits ``(N,)``."""
        return self.net(x).squeeze(1)


class DigitClassifier(nn.Module):
    """Conv 32 (28) → pool → conv 64 (14) → pool → conv 64 (7) → linear 128 → 10 logits, with BatchNorm.

    ``forward``: digits ``(N, 1, 28, 28)`` in [0, 1] → logits ``(N, 10)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128), nn.ReLU(),
                                  nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Digits ``(N, 1, 28, 28)`` in [0, 1] → class probabilities ``(N, 10)``."""
        return F.softmax(self.forward(x), dim=1)


def _load(model: nn.Module, state_dict: dict[str, torch.Tensor] | None) -> nn.Module:
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return model.eval()


def build_vae(state_dict: dict[str, torch.Tensor] | None = None, width: int = 64, hidden: int = 128) -> BuiltModel:
    """The 2-D-latent VAE; random weights when ``state_dict`` is None."""
    return BuiltModel(_load(Autoencoder2D(variational=True, width=width, hidden=hidden), state_dict))


def build_ae(state_dict: dict[str, torch.Tensor] | None = None, width: int = 64, hidden: int = 128) -> BuiltModel:
    """The 2-D-latent plain autoencoder; random weights when ``state_dict`` is None."""
    return BuiltModel(_load(Autoencoder2D(variational=False, width=width, hidden=hidden), state_dict))


def build_generator(state_dict: dict[str, torch.Tensor] | None = None, latent_dim: int = 32,
                    width: int = 64) -> BuiltModel:
    """The DCGAN generator (only the generator is shipped); random weights when ``state_dict`` is None."""
    return BuiltModel(_load(Generator(latent_dim=latent_dim, width=width), state_dict))


def build_classifier(state_dict: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """The digit classifier; random weights when ``state_dict`` is None."""
    return BuiltModel(_load(DigitClassifier(), state_dict))
