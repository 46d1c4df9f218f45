"""AI image enhancer library: super-resolution and more, behind one image contract.

Images are RGB float32 tensors ``(1, 3, H, W)`` in [0, 1] (see :mod:`enhancers.imageio`).
Importing this package loads no model and imports no heavy module.
"""

__version__ = "0.1.0"
