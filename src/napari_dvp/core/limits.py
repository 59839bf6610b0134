"""Resource limits: what napari-dvp agrees to read, checked before reading it.

Every reader asks here first, so a hostile or broken file is refused with one
line instead of filling the memory or blocking forever:

* :func:`check_input_file` — a regular file (never a FIFO, socket or device,
  which would block or never end), not over the file-size cap, and, for
  compressed text (``.gz``, ``.bz2``, ``.xz``, ``.zip``), not a decompression
  bomb (the whole stream is counted, in 1 MB pieces, before anyone parses it).
* :func:`check_memory` — an array about to be loaded whole fits under the
  memory cap (default: half of the memory available now).
* :func:`check_pixels` — a declared image size is below the pixel cap.
* :func:`loads_json` — JSON nested deeper than :data:`MAX_JSON_DEPTH` is
  refused before Python's parser recurses into it.

The caps come from environment variables (read at each call, so a test or a
user can change them without restarting):

``NAPARI_DVP_MAX_MEMORY_GB``
    Largest array loaded whole (default: 50 % of the available memory).
``NAPARI_DVP_MAX_FILE_GB``
    Largest table/JSON/XML file read whole, and largest decompressed stream
    (default: the memory cap).
``NAPARI_DVP_MAX_PIXELS``
    Largest image, in pixels per channel (default 2**33, a 92,000² slide).
``NAPARI_DVP_MAX_RATIO``
    Largest compression ratio of a compressed text file over 64 MB
    (default 200; tables compress 3-20 times).

This module imports only the standard library.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import DvpInputError

__all__ = ["MAX_JSON_DEPTH", "check_input_file", "check_memory", "check_pixels",
           "file_cap_bytes", "json_depth", "loads_json", "memory_cap_bytes"]

GB = 1024 ** 3
MAX_JSON_DEPTH = 64  #: deepest JSON nesting accepted (GeoJSON needs 6, projects ~8)
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip")
_RATIO_FLOOR = 64 * 1024 ** 2  #: below this decompressed size, any ratio is fine
_CHUNK = 1 << 20


def _env_float(name: str) -> float | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DvpInputError(f"environment variable {name}={text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise DvpInputError(f"environment variable {name}={text!r} must be a positive number")
    return value


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux/macOS
        return 8 * GB


def memory_cap_bytes() -> int:
    """Largest array (bytes) napari-dvp loads whole: ``NAPARI_DVP_MAX_MEMORY_GB`` or 50 %
    of the memory available now."""
    gb = _env_float("NAPARI_DVP_MAX_MEMORY_GB")
    return int(gb * GB) if gb is not None else _available_bytes() // 2


def file_cap_bytes() -> int:
    """Largest file (or decompressed stream) read whole: ``NAPARI_DVP_MAX_FILE_GB`` or the
    memory cap."""
    gb = _env_float("NAPARI_DVP_MAX_FILE_GB")
    return int(gb * GB) if gb is not None else memory_cap_bytes()


def _gb(n: float) -> str:
    return f"{n / GB:.3g} GB" if n >= GB / 10 else f"{n / 1024 ** 2:.3g} MB"


def check_memory(nbytes: float, what: str, factor: float = 1.0) -> None:
    """Refuse to load ``nbytes`` (times ``factor`` for the working copies) over the cap.

    Raises
    ------
    DvpInputError
        ``what`` needs more memory than ``NAPARI_DVP_MAX_MEMORY_GB`` allows.
    """
    need = float(nbytes) * factor
    cap = memory_cap_bytes()
    if need > cap:
        raise DvpInputError(
            f"{what} needs about {_gb(need)} of memory, more than the {_gb(cap)} napari-dvp "
            "may use (NAPARI_DVP_MAX_MEMORY_GB); use a smaller image or raise the limit")


def check_pixels(shape: tuple[int, ...] | list[int], what: str) -> None:
    """Refuse an image whose rows x columns exceed ``NAPARI_DVP_MAX_PIXELS`` (default 2**33)."""
    cap = _env_float("NAPARI_DVP_MAX_PIXELS") or float(2 ** 33)
    rows, cols = int(shape[-2]), int(shape[-1])
    if rows * cols > cap:
        raise DvpInputError(
            f"{what} declares {rows}x{cols} pixels, more than the {cap:.3g} napari-dvp reads "
            "(NAPARI_DVP_MAX_PIXELS); the file is damaged or not a tissue slide")


def check_input_file(path: str | os.PathLike[str], what: str = "file", *,
                     whole: bool = True) -> Path:
    """Check that ``path`` is a regular file napari-dvp may read, and return it.

    Parameters
    ----------
    path
        The file.
    what
        Its role in the message ("GeoJSON file", "cell table" …).
    whole
        The reader loads the whole file: apply the file-size cap. ``False``
        for lazily read images. Compressed files (``.gz`` …) are always
        checked for decompression bombs.

    Raises
    ------
    DvpInputError
        Missing; a folder; a FIFO, socket or device (reading one would block
        or never end); over the size cap; a decompression bomb.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DvpInputError(f"{what} {p} not found; check the path") from None
    except OSError as exc:
        raise DvpInputError(f"cannot read {what} {p} ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DvpInputError(f"cannot read {what} {p}: it is a folder; give a file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise DvpInputError(f"{what} {p} is {kind}; napari-dvp reads regular files only")
    compressed = p.name.lower().endswith(_COMPRESSED)
    if not whole and not compressed:
        return p
    cap = file_cap_bytes()
    if whole and st.st_size > cap:
        raise DvpInputError(f"{what} {p.name} is {_gb(st.st_size)}, more than the "
                            f"{_gb(cap)} napari-dvp reads whole (NAPARI_DVP_MAX_FILE_GB)")
    if compressed:
        _check_decompressed(p, st.st_size, what, cap)
    return p


def _check_decompressed(p: Path, size: int, what: str, cap: int) -> None:
    """Count the decompressed bytes (without keeping them); refuse bombs."""
    ratio = _env_float("NAPARI_DVP_MAX_RATIO") or 200.0
    limit = min(cap, max(_RATIO_FLOOR, int(size * ratio)))
    name = p.name.lower()
    total = 0

    def bomb() -> DvpInputError:
        return DvpInputError(
            f"{what} {p.name} decompresses to more than {_gb(limit)} from {_gb(size)} "
            f"(over {ratio:g} times its size, or over NAPARI_DVP_MAX_FILE_GB): a "
            "decompression bomb or a damaged file; decompress it yourself if you trust it")

    try:
        if name.endswith(".zip"):
            import zipfile

            with zipfile.ZipFile(p) as zf:
                for info in zf.infolist():
                    total += info.file_size
                    if total > limit:
                        raise bomb()
                members = zf.infolist()
                if len(members) != 1:
                    return  # pandas refuses it with its own message
                with zf.open(members[0]) as fh:
                    total = _count(fh, limit, bomb)
            return
        if name.endswith(".gz"):
            import gzip

            opener = gzip.open
        elif name.endswith(".bz2"):
            import bz2

            opener = bz2.open
        else:
            import lzma

            opener = lzma.open
        with opener(p, "rb") as fh:
            _count(fh, limit, bomb)
    except DvpInputError:
        raise
    except (OSError, EOFError, ValueError) as exc:  # damaged stream: the reader says it better
        raise DvpInputError(f"{what} {p.name} is damaged: it could not be decompressed "
                            f"({type(exc).__name__}: {exc}); copy or export it again") from None
    except Exception as exc:  # zipfile.BadZipFile, lzma.LZMAError …
        raise DvpInputError(f"{what} {p.name} is damaged: it could not be decompressed "
                            f"({type(exc).__name__}); copy or export it again") from None


def _count(fh, limit: int, bomb) -> int:
    total = 0
    while True:
        block = fh.read(_CHUNK)
        if not block:
            return total
        total += len(block)
        if total > limit:
            raise bomb()


# ----------------------------------------------------------------------------- JSON

def json_depth(text: str | bytes) -> int:
    """Deepest ``[``/``{`` nesting of a JSON text, brackets inside strings skipped.

    Vectorised over 8 MB pieces (the string state, the run of backslashes and
    the depth carry over), so a 500 MB QuPath export costs well under a second.
    """
    import numpy as np

    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    depth = best = 0
    inside = False  # in a string at the start of the piece
    run = 0  # backslashes right before the piece
    piece = 8 << 20
    for start in range(0, len(raw), piece):
        b = np.frombuffer(raw, dtype=np.uint8, count=min(piece, len(raw) - start), offset=start)
        bs = b == 92  # backslash
        if bs.any() or run:
            # backslashes in a row ending at each byte: escaped quotes follow an odd count
            n = np.cumsum(bs, dtype=np.int64)
            last = np.maximum.accumulate(np.where(bs, 0, n))
            ending = n - last
            ending[: int(np.argmin(bs)) if not bs.all() else len(bs)] += run
            before = np.concatenate(([run], ending[:-1]))
            run = int(ending[-1])
        else:
            before = None
        quote = b == 34
        if before is not None:
            quote &= before % 2 == 0
        odd = (np.cumsum(quote, dtype=np.int64) % 2).astype(bool)
        in_str = odd ^ inside  # state after each byte (a bracket does not change it)
        inside = bool(in_str[-1])
        step = np.zeros(len(b), dtype=np.int32)
        step[(b == 91) | (b == 123)] = 1
        step[(b == 93) | (b == 125)] = -1
        step[in_str] = 0
        level = np.cumsum(step, dtype=np.int64) + depth
        if len(level):
            best = max(best, int(level.max()))
            depth = int(level[-1])
    return best


def loads_json(text: str | bytes, what: str, max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` that refuses nesting deeper than ``max_depth`` with one line.

    Raises
    ------
    DvpInputError
        Nested too deeply (checked before parsing, so Python never recurses).
    json.JSONDecodeError
        Not JSON (the caller words that message).
    """
    import json

    depth = json_depth(text)
    if depth > max_depth:
        raise DvpInputError(f"{what} is nested {depth} levels deep (at most {max_depth} "
                            "accepted); it is not a file napari-dvp or QuPath wrote")
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise DvpInputError(f"{what} is nested too deeply to read") from None
