"""Dock forms built from the core's parameter dataclasses (magicgui widgets).

Each :func:`~napari_dvp.core.params.param` field becomes one magicgui widget
(spin box with the declared range and step, check box, drop-down for choices,
line edit), labelled with the field's label and unit and with its help as the
tooltip. The default therefore lives once, on the dataclass.

A number that may be left unset (``optional=True``, default ``None``, with a
``min``) becomes a spin box whose lowest entry reads "automatic" (one step below
the declared minimum): it gives ``None`` back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from magicgui.widgets import Container, Widget, create_widget

from ..core.params import ParamInfo, param_fields

__all__ = ["ParamsForm"]


def _widget_for(f: dataclasses.Field, info: ParamInfo, value: Any) -> Widget:
    label = f"{info.label} ({info.unit})" if info.unit else info.label
    opts: dict[str, Any] = {}
    if info.choices is not None:
        return create_widget(value=value, name=f.name, label=label, widget_type="ComboBox",
                             options={"choices": list(info.choices), "tooltip": info.help})
    if isinstance(value, bool):
        return create_widget(value=value, name=f.name, label="", annotation=bool,
                             options={"text": info.label, "tooltip": info.help})
    if isinstance(value, tuple):
        return create_widget(value=", ".join(map(str, value)), name=f.name, label=label,
                             annotation=str, options={"tooltip": info.help})
    if f.default is None and info.optional and info.min is not None:
        return _automatic_spin(f, info, label, value)
    if isinstance(value, (int, float)):
        is_float = isinstance(value, float)
        opts["min"] = info.min if info.min is not None else -1e9
        opts["max"] = info.max if info.max is not None else 1e9
        if info.step is not None:
            opts["step"] = info.step
        elif is_float:
            opts["step"] = 0.1
        if is_float:
            opts["widget_type"] = "FloatSpinBox"
        widget = create_widget(value=value, name=f.name, label=label,
                               annotation=float if is_float else int,
                               widget_type=opts.pop("widget_type", None),
                               options={**opts, "tooltip": info.help})
        if not is_float:  # superqt's int spin box clamps every keystroke: typing "128" with
            widget.native.setKeyboardTracking(False)  # min 128 gave 8192; read it on Enter
        return widget
    return create_widget(value="" if value is None else value, name=f.name, label=label,
                         annotation=str, options={"tooltip": info.help})


AUTOMATIC = "automatic"
"""What the spin box of an optional number shows while it is unset."""


def _automatic_spin(f: dataclasses.Field, info: ParamInfo, label: str, value: Any) -> Widget:
    """A float spin box whose lowest value (below ``info.min``) reads "automatic" = ``None``."""
    step = info.step if info.step is not None else 0.1
    lowest = info.min - step
    opts: dict[str, Any] = {"min": lowest, "step": step,
                            "tooltip": f"{info.help} (the lowest entry, below {info.min:g}, "
                                       f"reads '{AUTOMATIC}')",
                            "max": info.max if info.max is not None else 1e9}
    widget = create_widget(value=lowest if value is None else float(value), name=f.name,
                           label=label, annotation=float, widget_type="FloatSpinBox",
                           options=opts)
    if info.decimals is not None:
        widget.native.setDecimals(info.decimals)
    widget.native.setSpecialValueText(AUTOMATIC)
    return widget


def _is_automatic(f: dataclasses.Field, info: ParamInfo, value: Any) -> bool:
    return (f.default is None and info.optional and info.min is not None
            and isinstance(value, float) and value < info.min)


class ParamsForm(Container):
    """A labelled form for the parameters of ``cls`` (fields with ``gui=True``).

    Parameters
    ----------
    cls
        A parameter dataclass.
    fields
        Only these fields, in this order (default: every GUI field).
    values
        Initial values instead of the dataclass defaults.
    """

    def __init__(self, cls: type, fields: Iterable[str] | None = None,
                 values: Mapping[str, Any] | None = None) -> None:
        self.params_cls = cls
        infos = {f.name: (f, info) for f, info in param_fields(cls) if info.gui}
        names = list(fields) if fields is not None else list(infos)
        widgets = []
        for name in names:
            f, info = infos[name]
            value = (values or {}).get(name, f.default)
            widgets.append(_widget_for(f, info, value))
        super().__init__(widgets=widgets, labels=True)
        self.native.layout().setContentsMargins(0, 0, 0, 0)

    def values(self) -> dict[str, Any]:
        """Current values, converted back to the dataclass field types."""
        out: dict[str, Any] = {}
        fields = {f.name: (f, i) for f, i in param_fields(self.params_cls)}
        for w in self:
            f, info = fields[w.name]
            value = w.value
            if _is_automatic(f, info, value):
                value = None
            elif isinstance(f.default, tuple):
                value = tuple(x.strip() for x in str(value).split(",") if x.strip())
            elif f.default is None and isinstance(value, str):
                value = value.strip() or None
            out[w.name] = value
        return out

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (names not in the form are ignored)."""
        for w in self:
            if w.name in values:
                value = values[w.name]
                if value is None and w.widget_type == "FloatSpinBox":
                    w.value = w.min  # "automatic"
                    continue
                w.value = ", ".join(map(str, value)) if isinstance(value, tuple) else value

    def params(self, **overrides: Any) -> Any:
        """The dataclass built from the form (``overrides`` for fields not shown)."""
        return self.params_cls(**{**self.values(), **overrides})
