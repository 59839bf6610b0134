"""The Proteins dock's part of the viewer session (saved and restored by the Project)."""

from __future__ import annotations

import pandas as pd

from ...core.proteomics.study import ProteinStudy
from .._session import session_of

SCORES, MATCHES = "pathway scores", "protein run matches"


def store(viewer, study: ProteinStudy, manifest_name: str, source) -> None:
    """Protein table, manifest, scores and run matches into the session."""
    session = session_of(viewer)
    if session.get("proteomics") is not study.data:
        session.set("proteomics", study.data, source=source)
    if session.get("manifests").get(manifest_name) is not study.manifest:
        session.put("manifests", manifest_name, study.manifest, source=source)
    session.set("scores", {**session.get("scores"), SCORES: study.scores.scores.copy(),
                           MATCHES: study.table.copy()}, source=source)


def latest(viewer) -> tuple[str, pd.DataFrame, object, pd.DataFrame | None] | None:
    """``(manifest name, manifest, protein data or None, saved matches or None)`` of the
    newest manifest in the session (an LMD export or an opened project), else ``None``."""
    session = session_of(viewer)
    manifests = session.get("manifests")
    if not manifests:
        return None
    name, manifest = list(manifests.items())[-1]
    return name, manifest, session.get("proteomics"), session.get("scores").get(MATCHES)
