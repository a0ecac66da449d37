"""The plugin's Processing provider; every algorithm is registered here."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..ui.resources import ICON_PATH


class TsstfnProvider(QgsProcessingProvider):
    """The provider *TSSTFN Crop Mapper*: one algorithm per file, all registered here."""

    def id(self) -> str:
        return "tsstfn"

    def name(self) -> str:
        return "TSSTFN Crop Mapper"

    def icon(self) -> QIcon:
        return QIcon(ICON_PATH)

    def loadAlgorithms(self) -> None:  # noqa: N802
        from .algorithms import all_algorithms

        for algorithm in all_algorithms():
            self.addAlgorithm(algorithm)
