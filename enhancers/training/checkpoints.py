"""Writing trained weights as safetensors."""

from __future__ import annotations

import os

import torch
from safetensors.torch import save_file


def save_weights(module: torch.nn.Module, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Save ``module``'s state dict to ``path`` (CPU, contiguous, unshared tensors, as safetensors requires).

    A module with a ``trained_state_dict()`` (one built around a frozen pretrained part) saves only that.
    """
    state = getattr(module, "trained_state_dict", module.state_dict)()
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    save_file(state, str(path), metadata=metadata)
