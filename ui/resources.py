"""Paths of the plugin's resources (icons load by path: no compiled Qt resources)."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
ICON_PATH = str(RESOURCES / "icon.svg")
