"""A reader of Qt's binary resource bundles (``.rcc`` files, format versions 1 to 3).

Layout (all integers big-endian), as Qt's ``rcc`` tool writes it and ``QResource`` reads it:

* Header: the magic ``b"qres"``, then ``u32`` version, ``u32`` tree offset, ``u32`` data offset,
  ``u32`` names offset, and from version 3 a ``u32`` of overall flags.
* Tree: fixed-size nodes, 14 bytes in version 1 and 22 from version 2 (an added ``u64`` modification
  time in milliseconds). Node 0 is the root directory. Each node starts with ``u32`` name offset and
  ``u16`` flags (1: zlib-compressed file, 2: directory, 4: zstd-compressed file). A directory then holds
  ``u32`` child count and ``u32`` index of its first child (children are consecutive nodes); a file holds
  ``u16`` territory, ``u16`` language and ``u32`` offset of its data.
* Names: at a name offset, ``u16`` length in UTF-16 code units, ``u32`` name hash, then the name in UTF-16BE.
* Data: at a data offset, ``u32`` length and that many bytes. A zlib entry's bytes are a ``u32`` uncompressed
  size followed by a zlib stream; a zstd entry's bytes are one zstd frame (listed, not decoded).

Only reading is supported. Every malformation raises :class:`~enhancers.errors.ArchiveReadError`.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ArchiveReadError
from .archive_bytes import archive_bytes

MAGIC = b"qres"
FLAG_ZLIB = 0x01
FLAG_DIRECTORY = 0x02
FLAG_ZSTD = 0x04
SUPPORTED_VERSIONS = (1, 2, 3)
_MAX_DEPTH = 64


@dataclass(frozen=True)
class RccEntry:
    """One file in a bundle: its path (``/``-separated, no leading slash), how it is stored
    (``"none"``, ``"zlib"`` or ``"zstd"``), its stored size in bytes, and where its data record starts
    (byte offset from the start of the file)."""

    path: str
    compression: str
    stored_size: int
    offset: int


@dataclass(frozen=True)
class _Header:
    version: int
    tree: int
    data: int
    names: int
    node_size: int


def _u(buf: bytes, offset: int, fmt: str, what: str) -> tuple[int, ...]:
    size = struct.calcsize(fmt)
    if offset < 0 or offset + size > len(buf):
        raise ArchiveReadError(f"Qt resource file truncated: {what} at byte {offset} needs {size} bytes, "
                               f"the file has {len(buf)}")
    return struct.unpack_from(fmt, buf, offset)


def _header(buf: bytes) -> _Header:
    if len(buf) < 4 or buf[:4] != MAGIC:
        raise ArchiveReadError(f"not a Qt resource file: magic {buf[:4]!r}, expected {MAGIC!r}")
    version, tree, data, names = _u(buf, 4, ">IIII", "header")
    if version not in SUPPORTED_VERSIONS:
        raise ArchiveReadError(f"Qt resource format version {version} is not supported (1 to 3 are)")
    if version >= 3:
        _u(buf, 20, ">I", "header flags")
    for name, off in (("tree", tree), ("data", data), ("names", names)):
        if off >= len(buf):
            raise ArchiveReadError(f"Qt resource {name} offset {off} lies outside the file ({len(buf)} bytes)")
    return _Header(version, tree, data, names, 14 if version == 1 else 22)


def _name(buf: bytes, h: _Header, offset: int) -> str:
    at = h.names + offset
    (length,) = _u(buf, at, ">H", "name length")
    end = at + 6 + 2 * length
    if end > len(buf):
        raise ArchiveReadError(f"Qt resource name at byte {at} runs past the end of the file")
    try:
        return buf[at + 6:end].decode("utf-16-be")
    except UnicodeDecodeError as err:
        raise ArchiveReadError(f"Qt resource name at byte {at} is not valid UTF-16: {err}") from err


def _walk(buf: bytes, h: _Header) -> Iterator[tuple[str, int, int]]:
    """(path, flags, data offset) of every file node, depth first from the root node."""
    node_count = (len(buf) - h.tree) // h.node_size if h.tree < len(buf) else 0
    seen: set[int] = set()

    def visit(index: int, prefix: str, depth: int) -> Iterator[tuple[str, int, int]]:
        if depth > _MAX_DEPTH:
            raise ArchiveReadError(f"Qt resource tree deeper than {_MAX_DEPTH} levels (a cycle?)")
        if index in seen:
            raise ArchiveReadError(f"Qt resource tree node {index} is reached twice (a cycle?)")
        seen.add(index)
        at = h.tree + index * h.node_size
        if index >= node_count:
            raise ArchiveReadError(f"Qt resource tree node {index} lies outside the file")
        name_off, flags = _u(buf, at, ">IH", "tree node")
        name = "" if depth == 0 else _name(buf, h, name_off)
        path = f"{prefix}/{name}" if prefix else name
        if flags & FLAG_DIRECTORY:
            count, first = _u(buf, at + 6, ">II", "directory node")
            if first + count > node_count:
                raise ArchiveReadError(f"Qt resource directory {path or '/'!r} points at nodes "
                                       f"{first}..{first + count - 1}, outside the tree ({node_count} nodes)")
            for child in range(first, first + count):
                yield from visit(child, path, depth + 1)
        else:
            (data_off,) = _u(buf, at + 10, ">I", "file node")
            yield path, flags, data_off

    yield from visit(0, "", 0)


def _compression(flags: int, path: str) -> str:
    if flags & FLAG_ZLIB and flags & FLAG_ZSTD:
        raise ArchiveReadError(f"Qt resource {path!r} is flagged both zlib- and zstd-compressed")
    return "zlib" if flags & FLAG_ZLIB else "zstd" if flags & FLAG_ZSTD else "none"


def list_rcc(source: str | os.PathLike[str] | bytes) -> list[RccEntry]:
    """Every file in a Qt resource bundle (a path or the file's bytes), in tree order, without decompressing.

    Raises ArchiveReadError on a bad magic, an unsupported version, a truncated file, an offset outside
    the file or a cyclic tree.
    """
    buf = archive_bytes(source, "Qt resource file")
    h = _header(buf)
    out = []
    for path, flags, data_off in _walk(buf, h):
        at = h.data + data_off
        (size,) = _u(buf, at, ">I", f"data length of {path!r}")
        if at + 4 + size > len(buf):
            raise ArchiveReadError(f"Qt resource {path!r}: {size} data bytes at byte {at + 4} run past the end "
                                   f"of the file ({len(buf)} bytes)")
        out.append(RccEntry(path, _compression(flags, path), size, at))
    return out


def _decode(buf: bytes, entry: RccEntry) -> bytes:
    raw = buf[entry.offset + 4:entry.offset + 4 + entry.stored_size]
    if entry.compression == "none":
        return raw
    if entry.compression == "zstd":
        # No bundle in the packages this project reads uses zstd (checked over all of gcompris-qt-data's
        # 186 bundles: zlib or stored), so no zstd decoder is a dependency.
        raise ArchiveReadError(f"Qt resource {entry.path!r} is zstd-compressed, which this reader does not decode")
    if len(raw) < 4:
        raise ArchiveReadError(f"Qt resource {entry.path!r}: zlib entry shorter than its 4-byte size prefix")
    (expected,) = struct.unpack_from(">I", raw, 0)
    try:
        out = zlib.decompress(raw[4:])
    except zlib.error as err:
        raise ArchiveReadError(f"Qt resource {entry.path!r}: bad zlib data: {err}") from err
    if len(out) != expected:
        raise ArchiveReadError(f"Qt resource {entry.path!r}: {len(out)} bytes after zlib, the prefix says {expected}")
    return out


def iter_rcc(source: str | os.PathLike[str] | bytes) -> Iterator[tuple[str, bytes]]:
    """``(path, contents)`` of every file in a Qt resource bundle, decompressed, in tree order.

    ``source`` is a path or the file's bytes; paths are ``/``-separated without a leading slash
    (``gcompris/src/activities/erase/resource/file.jpg``). Raises ArchiveReadError on any malformation,
    including an entry whose zlib or zstd data does not decompress to its stated size.
    """
    buf = archive_bytes(source, "Qt resource file")
    for entry in list_rcc(buf):
        yield entry.path, _decode(buf, entry)


def read_rcc(source: str | os.PathLike[str] | bytes) -> dict[str, bytes]:
    """All files of a Qt resource bundle as ``{path: contents}`` (see :func:`iter_rcc`)."""
    return dict(iter_rcc(source))
