"""Counter-based random numbers: the same value for the same key, wherever it is asked.

A synthetic slide is rendered tile by tile, in any order and any tiling. Every
random quantity (a cell's position, a pixel's noise) is therefore a pure
function of the seed, a stream number and *global* integer coordinates,
computed with the splitmix64 finaliser, vectorised over numpy arrays.
"""

from __future__ import annotations

import numpy as np

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_U53 = 2.0**-53


def _mix_int(x: int) -> int:
    """splitmix64 finaliser on a Python int (for scalar keys)."""
    x &= _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, element-wise on a uint64 array (wraps modulo 2**64)."""
    x = x ^ (x >> _S30)
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def stream_key(seed: int, stream: int) -> int:
    """A 64-bit key for one (seed, stream) pair."""
    return _mix_int(_mix_int(int(seed) * _GOLDEN + 0x5EED) ^ (int(stream) * _GOLDEN))


def hash2(key: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hash integer coordinates ``a`` and ``b`` (broadcast) under ``key`` to uint64."""
    a = np.atleast_1d(np.asarray(a, dtype=np.int64)).astype(np.uint64)
    b = np.atleast_1d(np.asarray(b, dtype=np.int64)).astype(np.uint64)
    ha = _mix(a + np.uint64(key))
    return _mix(ha ^ (b * np.uint64(_GOLDEN) + np.uint64(0x632BE59BD9B4E019)))


def derive(h: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th independent uint64 drawn from hashes ``h``."""
    return _mix(h + np.uint64((k * _GOLDEN) & _MASK))


def uniform(h: np.ndarray) -> np.ndarray:
    """Map uint64 hashes to float64 uniforms in [0, 1)."""
    return (h >> np.uint64(11)).astype(np.float64) * _U53


def normal16(h: np.ndarray) -> np.ndarray:
    """Approximately standard-normal float32 from one uint64 hash each.

    Sums the hash's four 16-bit quarters (Irwin-Hall, n=4), rescaled to unit
    variance: cheap and smooth enough for image noise.
    """
    m = np.uint64(0xFFFF)
    s = (h & m).astype(np.float32)
    s += ((h >> np.uint64(16)) & m).astype(np.float32)
    s += ((h >> np.uint64(32)) & m).astype(np.float32)
    s += (h >> np.uint64(48)).astype(np.float32)
    # each quarter is uniform on [0, 65535]: mean 32767.5, var 65536**2/12
    s -= np.float32(4 * 32767.5)
    s *= np.float32(1.0 / (65536.0 * np.sqrt(4.0 / 12.0)))
    return s


def quarters(h: np.ndarray) -> tuple[np.ndarray, ...]:
    """Four float32 uniforms in [0, 1) from the 16-bit quarters of each hash."""
    m = np.uint64(0xFFFF)
    scale = np.float32(1.0 / 65536.0)
    return tuple(((h >> np.uint64(s)) & m).astype(np.float32) * scale for s in (0, 16, 32, 48))
