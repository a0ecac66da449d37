"""One declaration between the dialog's widgets and the job's fields.

A panel lists its :class:`Bind` entries once: the job field (dotted for nested options, e.g.
``train.width``) and the panel attribute holding its widget. :func:`collect` writes a job mapping
from the widgets, :func:`apply` sets the widgets from one; a field a job file leaves out takes the
typed job spec's default (:class:`~..core.pipeline.job.Job`, :class:`~..core.fusion.config.TrainConfig`),
so the dialog shows what the job would run. ``tests/qgis/test_dialog.py`` checks that every bound
field exists in the spec.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from qgis.gui import QgsFieldComboBox, QgsFileWidget
from qgis.PyQt.QtWidgets import QAbstractButton, QComboBox, QDoubleSpinBox, QSpinBox


@dataclass(frozen=True)
class Bind:
    """A job field shown by one widget.

    Attributes:
        key: the job field, dotted for a nested option (``train.width``).
        widget: the name of the panel's attribute that holds the widget.
        none_at_minimum: the widget's minimum (shown as its special text, e.g. 'all') means None.
        omit_empty: leave the field out of the job when it is None, empty or False.
        get: reads the value instead of the widget's own accessor: ``get(panel)``.
        set: sets it instead: ``set(panel, value)``.
    """

    key: str
    widget: str = ""
    none_at_minimum: bool = False
    omit_empty: bool = False
    get: Callable[[Any], Any] | None = None
    set: Callable[[Any, Any], None] | None = None


def spec_default(key: str) -> Any:
    """The typed job spec's default of the job field ``key`` (``train.width``: TrainConfig's)."""
    from ..core.fusion.config import TrainConfig
    from ..core.mapping.classify import ForestParams
    from ..core.pipeline.job import Job

    owner, name = (key.split(".", 1) + [""])[:2] if "." in key else ("", key)
    cls = {"": Job, "train": TrainConfig, "forest": ForestParams}[owner]
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                return None
            return value.value if isinstance(value, Enum) else value
    raise KeyError(f"{key} is not a field of the job spec")


def read_widget(widget: Any, bind: Bind) -> Any:
    """The widget's value as a job file writes it."""
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        if bind.none_at_minimum and widget.value() == widget.minimum():
            return None
        return widget.value()
    if isinstance(widget, QComboBox) and not isinstance(widget, QgsFieldComboBox):
        return widget.currentData()
    if isinstance(widget, QgsFieldComboBox):
        return widget.currentField() or None
    if isinstance(widget, QAbstractButton):
        return widget.isChecked()
    if isinstance(widget, QgsFileWidget):
        return widget.filePath() or None
    if isinstance(widget, dict):  # check boxes by key: the keys ticked
        return [key for key, check in widget.items() if check.isChecked()]
    raise TypeError(f"no accessor for {type(widget).__name__}")


def write_widget(widget: Any, value: Any, bind: Bind) -> None:
    """Show a job file's ``value`` in the widget."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(widget, QSpinBox):
        widget.setValue(widget.minimum() if value is None and bind.none_at_minimum else int(value or 0))
    elif isinstance(widget, QDoubleSpinBox):
        widget.setValue(widget.minimum() if value is None and bind.none_at_minimum else float(value or 0.0))
    elif isinstance(widget, QgsFieldComboBox):
        widget.setField(value or "")
    elif isinstance(widget, QComboBox):
        widget.setCurrentIndex(max(0, widget.findData(value)))
    elif isinstance(widget, QAbstractButton):
        widget.setChecked(bool(value))
    elif isinstance(widget, QgsFileWidget):
        widget.setFilePath(value or "")
    elif isinstance(widget, dict):
        for key, check in widget.items():
            check.setChecked(key in (value or ()))
    else:
        raise TypeError(f"no accessor for {type(widget).__name__}")


def collect(panel: Any, binds: tuple[Bind, ...], data: dict) -> dict:
    """Add the panel's bound fields to the job mapping ``data`` (nested under ``train`` etc.); returns it."""
    for bind in binds:
        value = bind.get(panel) if bind.get else read_widget(getattr(panel, bind.widget), bind)
        if bind.omit_empty and value in (None, "", False, [], {}):
            continue
        *owners, name = bind.key.split(".")
        target = data
        for owner in owners:
            target = target.setdefault(owner, {})
        target[name] = value
    return data


def unbound(data: dict, keys: list[str]) -> dict:
    """A deep copy of the job mapping ``data`` without the dotted ``keys`` (the fields widgets show).

    What is left (``train.augment``, a preset's override the dialog has no widget for) rides along
    when the dialog writes the job again, so Load job then Run keeps every field of the file.
    """
    out = copy.deepcopy(data)
    for key in keys:
        *owners, name = key.split(".")
        target: Any = out
        for owner in owners:
            target = target.get(owner) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(name, None)
    return {k: v for k, v in out.items() if v != {} or not isinstance(data.get(k), dict)}


def stated(data: dict, own: dict, default: Callable[[str], Any] | None = None) -> dict:
    """The fields of ``data`` that the mapping ``own`` states itself (one level into ``train``, ``forest``, ...).

    Load job expands a file (its preset's values, the defaults, absolute paths); only what the file
    itself says should ride along unseen, so a preset chosen afterwards still sets the rest. With
    ``default`` (the dotted key's preset or spec value), a stated value equal to it is left out too:
    a file the dialog saved states every field, most of them defaults.
    """

    def same(key: str, value: Any) -> bool:
        if default is None:
            return False
        try:
            return bool(json.loads(json.dumps(default(key), default=str)) == value)
        except KeyError:  # not a field of the spec: keep it
            return False

    out = {}
    for key, value in data.items():
        if key not in own:
            continue
        if isinstance(value, dict) and isinstance(own[key], dict):
            value = {k: v for k, v in value.items() if k in own[key] and not same(f"{key}.{k}", v)}
        elif same(key, value):
            continue
        out[key] = value
    return out


def flat_keys(data: dict) -> list[str]:
    """``data``'s keys, dotted one level into mappings (``train.augment``)."""
    return [f"{k}.{sub}" for k, v in data.items() if isinstance(v, dict) for sub in v] + [
        k for k, v in data.items() if not isinstance(v, dict)
    ]


def preset_or_spec_default(preset: object) -> Callable[[str], Any]:
    """``key -> value`` a field takes when a job with ``preset`` leaves it out: the preset's, else the spec's."""
    from ..core.pipeline.presets import PRESETS

    values = PRESETS.get(preset, {}) if isinstance(preset, str) else {}

    def default(key: str) -> Any:
        found, value = lookup(values, key)
        return value if found else spec_default(key)

    return default


def lookup(data: dict, key: str) -> tuple[bool, Any]:
    """``(found, value)`` of the dotted ``key`` in a job mapping."""
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def apply(panel: Any, binds: tuple[Bind, ...], data: dict) -> None:
    """Set the panel's widgets from the job mapping ``data``; a field it lacks takes the spec's default.

    A panel with a ``before_apply(data)`` method sees the mapping first and may return it changed
    (the inputs panel takes the settings every raster of a column shares into its column fields).
    """
    if hasattr(panel, "before_apply"):
        data = panel.before_apply(data)
    for bind in binds:
        found, value = lookup(data, bind.key)
        if not found:
            value = spec_default(bind.key)
        if bind.set:
            bind.set(panel, value)
        else:
            write_widget(getattr(panel, bind.widget), value, bind)
