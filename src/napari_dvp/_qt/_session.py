"""One viewer's results that are not layers, shared by the dock widgets and the project.

Labels, cell table and regions live on napari layers. Everything else a
pathologist makes — class definitions and gating rules, the trained classifier,
sample plans, LMD manifests, the protein matrix and its scores — lives in the
viewer's :class:`Session`, one typed *slot* per kind, named like the
:class:`~napari_dvp.core.project.Project` slots:

=============== =========================================================== ==========
slot            value                                                       written by
=============== =========================================================== ==========
``classes``     ``{name: JSON}`` (e.g. ``"gating"``: ``scheme.to_dict()``)  gating,
                                                                            classifier
``classifier``  a trained :class:`~napari_dvp.core.classes.classifier.CellClassifier` classifier
``plans``       ``{name: DataFrame}`` sample plans                          LMD
``manifests``   ``{name: DataFrame}`` LMD manifests                         LMD,
                                                                            proteins
``proteomics``  :class:`anndata.AnnData`, the protein table as read         proteins
``scores``      ``{name: DataFrame}`` per-sample scores, run matches        proteins
=============== =========================================================== ==========

A widget stores its result with ``session_of(viewer).set(slot, value, source=self)``
(or ``put(slot, name, table, source=self)`` for the named slots) and may follow
``session_of(viewer).changed`` (``slot, source``) to pick up values another widget
or an opened project stored. The project dock saves every slot and autosaves on
every change. Values are kept as given: store a copy of anything you keep editing.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from psygnal import Signal

from ..core.errors import DvpInputError

NAMED = ("classes", "plans", "manifests", "scores")
SLOTS = ("classifier", "proteomics", *NAMED)


class Session:
    """The non-layer results of one viewer (see the module docstring for the slots)."""

    changed = Signal(str, object)
    """Emitted with ``(slot, source)`` after a slot changed (``source``: who changed it)."""

    def __init__(self) -> None:
        self._slots: dict[str, Any] = {}

    @staticmethod
    def _check(slot: str) -> None:
        if slot not in SLOTS:
            raise DvpInputError(f"unknown session slot {slot!r}; use one of {', '.join(SLOTS)}")

    def get(self, slot: str, default: Any = None) -> Any:
        """The value of ``slot`` (a new dict for an empty named slot)."""
        self._check(slot)
        if slot in NAMED and slot not in self._slots and default is None:
            return {}
        return self._slots.get(slot, default)

    def set(self, slot: str, value: Any, source: object = None) -> None:
        """Replace ``slot`` (``None`` or an empty mapping clears it) and emit ``changed``."""
        self._check(slot)
        if slot in NAMED and value is not None and not isinstance(value, Mapping):
            raise DvpInputError(f"session slot {slot!r} holds named entries {{name: value}}")
        if value is None or (slot in NAMED and not value):
            self._slots.pop(slot, None)
        else:
            self._slots[slot] = dict(value) if slot in NAMED else value
        self.changed.emit(slot, source)

    def put(self, slot: str, name: str, value: Any, source: object = None) -> None:
        """Add or replace the entry ``name`` of a named slot (``None`` removes it)."""
        if slot not in NAMED:
            raise DvpInputError(f"session slot {slot!r} has no named entries; use set()")
        entries = dict(self.get(slot))
        if value is None:
            entries.pop(str(name), None)
        else:
            entries[str(name)] = value
        self.set(slot, entries, source)

    def items(self) -> dict[str, Any]:
        """Every non-empty slot (a shallow copy)."""
        return dict(self._slots)

    def replace(self, values: Mapping[str, Any], source: object = None) -> None:
        """Replace every slot by ``values`` (absent slots are cleared), e.g. on project open.

        All slots are replaced first, then ``changed`` is emitted for each slot that was
        or now is set, so a listener sees the whole new session.
        """
        for slot in values:
            self._check(slot)
        old = self._slots
        self._slots = {s: (dict(v) if s in NAMED else v) for s in SLOTS
                       if (v := values.get(s)) is not None and not (s in NAMED and not v)}
        for slot in (s for s in SLOTS if s in old or s in self._slots):
            self.changed.emit(slot, source)


_SESSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def session_of(viewer) -> Session:
    """The :class:`Session` of ``viewer`` (created on first use; dies with the viewer)."""
    session = _SESSIONS.get(viewer)
    if session is None:
        session = _SESSIONS[viewer] = Session()
    return session
