"""Generation files with checksums: bytes, JSON and Parquet tables, reused when unchanged."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..atomic import atomic_path
from ..errors import DvpInputError


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")[:40]
    return s or "table"


def _reuse(folder: Path, prev: Mapping | None, sha: str) -> dict | None:
    if prev and prev.get("sha256") == sha and (folder / str(prev.get("file", ""))).exists():
        return dict(prev)
    return None


def _put_bytes(folder: Path, name: str, data: bytes, prev: Mapping | None,
               written: list[Path]) -> dict:
    sha = _sha256_bytes(data)
    reused = _reuse(folder, prev, sha)
    if reused is not None:
        return reused
    target = folder / name
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    written.append(target)
    return {"file": name, "sha256": sha, "bytes": len(data)}


def table_bytes(df: pd.DataFrame, what: str) -> bytes:
    """A DataFrame as Parquet bytes (dtypes, categoricals and the index kept)."""
    if not isinstance(df, pd.DataFrame):
        raise DvpInputError(f"{what} must be a table (DataFrame), not {type(df).__name__}")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise DvpInputError(f"{what} has non-text column name(s) {bad[:3]}; rename them")
    buf = io.BytesIO()
    try:
        df.to_parquet(buf, engine="pyarrow", index=None)
    except Exception as exc:
        raise DvpInputError(f"cannot store {what}: a column mixes types "
                            f"({type(exc).__name__}: {str(exc)[:120]}); make each column "
                            "one type") from None
    return buf.getvalue()


def read_table(path: Path, what: str) -> pd.DataFrame:
    """Read a Parquet table written by :func:`table_bytes`."""
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:
        raise DvpInputError(f"{what} file {path.name} is damaged or truncated "
                            f"({type(exc).__name__}); restore it from a backup") from None


def _table_entry(folder: Path, stem: str, tag: str, df: pd.DataFrame, what: str,
                 prev: Mapping | None, written: list[Path]) -> dict:
    entry = _put_bytes(folder, f"{stem}.{tag}.parquet", table_bytes(df, what), prev, written)
    entry.update(rows=len(df), columns=[str(c) for c in df.columns])
    return entry


def _json_bytes(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, indent=1, sort_keys=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise DvpInputError(f"cannot store {what}: {exc}; use plain numbers, text, lists "
                            "and dicts") from None

