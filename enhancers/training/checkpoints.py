"""Writing trained weights as safetensors."""

from __future__ import annotations

import os

import torch
from safetensors.torch import save_file


def save_weights(module: torch.nn.Module, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Save ``module``'s state dict to ``path`` (CPU, contiguous, unshared tensors, as safetensors requires)."""
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    save_file(state, str(path), metadata=metadata)
