"""A reader of Eet files (the Enlightenment Foundation Libraries' keyed archive; Edje themes are ``.edj`` Eet files).

Layout of the current format (all integers big-endian ``u32``), as EFL's ``eet_lib.c`` writes it:

* Header: magic ``0x1ee70f42``, number of directory entries, number of dictionary entries.
* Directory: one 24-byte record per entry: data offset, stored size, uncompressed size, name offset,
  name size (including the terminating NUL) and flags. Offsets count from the start of the file.
  Flags: bit 0 compressed, bit 1 ciphered, bit 2 alias, bits 3–10 the compression type
  (0–9 zlib levels, 10 and 11 LZ4).
* Dictionary: 20-byte records (strings used by serialised data structures; not needed to read entries).
* Then the names (NUL-terminated) and the data.

Only reading is supported: stored and zlib-compressed entries are decoded; LZ4-compressed and ciphered entries
are listed but raise on reading. The older ``0x1ee7ff00`` format, which EFL itself no longer reads, is rejected.
Every malformation raises :class:`~enhancers.errors.ArchiveReadError`.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import ArchiveReadError
from .archive_bytes import archive_bytes

MAGIC = 0x1EE70F42
LEGACY_MAGIC = 0x1EE7FF00
HEADER_SIZE = 12
ENTRY_SIZE = 24
DICTIONARY_ENTRY_SIZE = 20
FLAG_COMPRESSED = 0x1
FLAG_CIPHERED = 0x2
FLAG_ALIAS = 0x4
LZ4_TYPES = (10, 11)


@dataclass(frozen=True)
class EetEntry:
    """One directory entry: its key, where its stored bytes lie (byte ``offset`` and ``size`` in the file),
    its uncompressed size in bytes, and how it is stored (``compression``: ``"none"``, ``"zlib"`` or ``"lz4"``;
    ``ciphered``)."""

    name: str
    offset: int
    size: int
    data_size: int
    compression: str
    ciphered: bool


def list_eet(source: str | os.PathLike[str] | bytes) -> list[EetEntry]:
    """The directory of an Eet file (a path or the file's bytes), in stored order, without reading any data.

    Raises ArchiveReadError on a wrong or legacy magic, a truncated header or directory, a name or data range
    outside the file, or a name without its terminating NUL.
    """
    buf = archive_bytes(source, "Eet file")
    if len(buf) < HEADER_SIZE:
        raise ArchiveReadError(f"Eet file truncated: {len(buf)} bytes, the header alone is {HEADER_SIZE}")
    magic, count, dict_count = struct.unpack_from(">III", buf, 0)
    if magic == LEGACY_MAGIC:
        raise ArchiveReadError("Eet file in the legacy 0x1ee7ff00 format, which is not supported")
    if magic != MAGIC:
        raise ArchiveReadError(f"not an Eet file: magic {magic:#010x}, expected {MAGIC:#010x}")
    tables_end = HEADER_SIZE + count * ENTRY_SIZE + dict_count * DICTIONARY_ENTRY_SIZE
    if tables_end > len(buf):
        raise ArchiveReadError(f"Eet file truncated: {count} directory and {dict_count} dictionary entries need "
                               f"{tables_end} bytes, the file has {len(buf)}")
    out = []
    for i in range(count):
        at = HEADER_SIZE + i * ENTRY_SIZE
        offset, size, data_size, name_off, name_size, flags = struct.unpack_from(">6I", buf, at)
        if name_size == 0 or name_off < tables_end or name_off + name_size > len(buf):
            raise ArchiveReadError(f"Eet entry {i}: name at bytes {name_off}..{name_off + name_size} lies outside "
                                   f"the name area ({tables_end}..{len(buf)})")
        raw_name = buf[name_off:name_off + name_size]
        if raw_name[-1] != 0:
            raise ArchiveReadError(f"Eet entry {i}: name not NUL-terminated")
        name = raw_name[:-1].decode("utf-8", errors="replace")
        if offset < tables_end or offset + size > len(buf):
            raise ArchiveReadError(f"Eet entry {name!r}: data at bytes {offset}..{offset + size} lies outside the "
                                   f"data area ({tables_end}..{len(buf)})")
        ctype = (flags >> 3) & 0xFF
        compression = "none" if not flags & FLAG_COMPRESSED else "lz4" if ctype in LZ4_TYPES else "zlib"
        out.append(EetEntry(name, offset, size, data_size, compression, bool(flags & FLAG_CIPHERED)))
    return out


def _decode(buf: bytes, entry: EetEntry) -> bytes:
    if entry.ciphered:
        raise ArchiveReadError(f"Eet entry {entry.name!r} is ciphered, which this reader does not decode")
    raw = buf[entry.offset:entry.offset + entry.size]
    if entry.compression == "none":
        return raw
    if entry.compression == "lz4":
        raise ArchiveReadError(f"Eet entry {entry.name!r} is LZ4-compressed, which this reader does not decode")
    try:
        out = zlib.decompress(raw)
    except zlib.error as err:
        raise ArchiveReadError(f"Eet entry {entry.name!r}: bad zlib data: {err}") from err
    if len(out) != entry.data_size:
        raise ArchiveReadError(f"Eet entry {entry.name!r}: {len(out)} bytes after zlib, the directory says "
                               f"{entry.data_size}")
    return out


def read_entry(source: str | os.PathLike[str] | bytes, name: str) -> bytes:
    """The contents of the entry called ``name``, decompressed.

    Raises ArchiveReadError when there is no such entry, or for anything :func:`list_eet` rejects, and for a
    ciphered, LZ4-compressed or corrupt entry.
    """
    buf = archive_bytes(source, "Eet file")
    for entry in list_eet(buf):
        if entry.name == name:
            return _decode(buf, entry)
    raise ArchiveReadError(f"Eet file has no entry {name!r}")


def iter_eet(source: str | os.PathLike[str] | bytes, names: set[str] | None = None) -> Iterator[tuple[str, bytes]]:
    """``(name, contents)`` of every entry (or of those in ``names``), in stored order, decompressed.

    Raises ArchiveReadError as :func:`read_entry` does.
    """
    buf = archive_bytes(source, "Eet file")
    for entry in list_eet(buf):
        if names is None or entry.name in names:
            yield entry.name, _decode(buf, entry)
