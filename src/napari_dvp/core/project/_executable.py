"""Recognise content that runs code when loaded (Python pickles), without loading it.

A project must never run code from its files. A classifier saved with
``joblib``/``pickle`` does exactly that when it is loaded, so such bytes are
refused *before* any loader sees them. Recognised, also inside the wrappers
joblib uses: a pickle stream (any protocol), zlib / gzip / bz2 / xz / lzma /
lz4 / zstd compression around one, joblib's old ``ZF`` container, ``.npy``
arrays of Python objects, and zip archives (``.npz``, skops …) holding any of
these. Only the first bytes are decompressed (bounded), never the whole file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickletools
import zipfile
import zlib

__all__ = ["executable_content"]

_PEEK = 1 << 16
_MAX_DEPTH = 3
_MAX_MEMBERS = 4096
_UNCHECKABLE = b"\0uncheckable"


_CODE_OPS = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX",
             "BUILD", "EXT1", "EXT2", "EXT4"}


def _is_pickle(data: bytes) -> bool:
    """Whether ``data`` starts with a pickle stream (protocol 0-5).

    Protocol 2+ starts with the PROTO opcode. Protocols 0/1 have no header:
    the first bytes are parsed as opcodes (never executed); a stream that
    reaches STOP, or runs into the end of the peeked window after a code
    opcode or many valid opcodes, is a pickle.
    """
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return True
    n, code = 0, False
    try:
        for op, _arg, _pos in pickletools.genops(io.BytesIO(data[:_PEEK])):
            if op.name == "STOP":
                return n > 0
            n += 1
            code = code or op.name in _CODE_OPS
    except Exception:
        return len(data) > _PEEK and (code or n >= 16)
    return False


def _npy_objects(data: bytes) -> bool:
    """Whether ``data`` is an ``.npy`` array of Python objects (stored as a pickle)."""
    if not data.startswith(b"\x93NUMPY"):
        return False
    header = data[8:8 + 4096]
    return b"'descr': '|O'" in header or b'"descr": "|O"' in header or b"'|O'" in header


def _peek_decompressed(data: bytes) -> bytes | None:
    """The first bytes of ``data`` decompressed, if it is a compressed stream."""
    try:
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                return fh.read(_PEEK)
        if data[:3] == b"BZh":
            return bz2.BZ2Decompressor().decompress(data[:_PEEK * 4], max_length=_PEEK)
        if data[:6] == b"\xfd7zXZ\x00" or data[:3] == b"\x5d\x00\x00":
            return lzma.LZMADecompressor().decompress(data[:_PEEK * 4], max_length=_PEEK)
        if len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0:
            return zlib.decompressobj().decompress(data[:_PEEK * 4], _PEEK)
        if data[:2] == b"ZF":  # joblib < 0.10: "ZF" + length header + zlib
            start = data.find(b"x", 2, 64)
            return zlib.decompressobj().decompress(data[start:start + _PEEK * 4], _PEEK) \
                if start > 0 else None
        if data[:4] == b"\x04\x22\x4d\x18":
            import lz4.frame  # only if someone wrote one; absent otherwise

            return lz4.frame.decompress(data)[:_PEEK]
        if data[:4] == b"\x28\xb5\x2f\xfd":
            import zstandard

            return zstandard.ZstdDecompressor().decompressobj().decompress(data[:_PEEK * 4])
    except ImportError:
        return _UNCHECKABLE  # a compression we cannot open here
    except Exception:
        return None
    return None


def _zip_members(data: bytes, depth: int) -> str | None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return None
    with zf:
        for k, info in enumerate(zf.infolist()):
            if k >= _MAX_MEMBERS:
                return "a zip archive with too many members to check"
            name = info.filename.lower()
            if name.endswith((".pkl", ".pickle", ".joblib", ".dill", ".cloudpickle")):
                return f"a zip archive holding a Python pickle ({info.filename})"
            with zf.open(info) as fh:
                head = fh.read(_PEEK)
            found = _check(head, depth + 1)
            if found is not None:
                return f"a zip archive holding {found} ({info.filename})"
    return None


def _check(data: bytes, depth: int) -> str | None:
    if depth > _MAX_DEPTH or not data:
        return None
    if _is_pickle(data):
        return "a Python pickle"
    if _npy_objects(data):
        return "a NumPy array of Python objects (a pickle)"
    if data[:4] == b"PK\x03\x04":
        return _zip_members(data, depth)
    inner = _peek_decompressed(data)
    if inner is _UNCHECKABLE:
        return "compressed content that cannot be checked here"
    if inner is not None:
        found = _check(inner, depth + 1)
        if found is not None:
            return found if found.endswith("(compressed)") else f"{found} (compressed)"
    return None


def executable_content(data: bytes) -> str | None:
    """Say what code-running content ``data`` holds (e.g. ``"a Python pickle"``), or None.

    Parameters
    ----------
    data
        The bytes of a file (a classifier slot, an uploaded model …).

    Returns
    -------
    str or None
        A few words for a message ("a Python pickle (compressed)" for joblib's
        default files), or ``None`` when nothing executable was found.
    """
    return _check(bytes(data), 0)
