"""Typed exceptions raised by the library.

Every error a user can cause (bad file, unknown model, no network) is an
:class:`EnhancerError`, so the app can turn it into ``gr.Error`` and the CLI
into one line on stderr with a non-zero exit code.
"""

from __future__ import annotations


class EnhancerError(Exception):
    """Base class of every error this library raises on purpose."""


class ImageReadError(EnhancerError):
    """The file is not an image Pillow can decode (corrupt, truncated, empty, wrong type)."""


class ImageTooLargeError(EnhancerError):
    """The image exceeds the configured pixel limit, or is a decompression bomb."""


class InvalidInputError(EnhancerError):
    """A tensor or parameter does not match what a function expects."""


class UnknownModelError(EnhancerError, KeyError):
    """No model with this id is registered."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ModelUnavailableError(EnhancerError):
    """A model's weights cannot be obtained (Hub unreachable, offline mode, missing file)."""


class WeightsFormatError(ModelUnavailableError):
    """A weights file does not have the layout its format or the target architecture requires (a converter
    refused it: unknown storage tag, a file too short or too long, a shape that does not match)."""


class UnsafeWeightsError(EnhancerError):
    """A weights file holds pickled code or objects outside the allowed tensor types."""


class OutputWriteError(EnhancerError, OSError):
    """A result could not be written (no space left on the device, no permission, read-only file system).

    Also an :class:`OSError`, so code that catches write failures as such keeps working.
    """


class Cancelled(EnhancerError):
    """The run was stopped on request (the user pressed Stop or the client went away) between tiles or steps."""


class MissingDataError(EnhancerError):
    """Training or evaluation data is not on disk (run ``make photos`` first)."""


class ArchiveReadError(EnhancerError):
    """A resource bundle or archive (Qt ``.rcc``, Eet ``.edj``) is malformed: wrong magic, truncated, an offset
    outside the file, or an entry that does not decompress."""
