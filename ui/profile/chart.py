"""The season chart: matplotlib on a Qt5Agg canvas; what it draws comes from core/profile's samples, as they are."""

from __future__ import annotations

import datetime as dt
import math

from matplotlib.backends.backend_qt5agg import FigureCanvasQTAgg
from matplotlib.dates import DateFormatter, MonthLocator, date2num, num2date
from matplotlib.figure import Figure
from qgis.PyQt.QtWidgets import QLabel, QVBoxLayout, QWidget

from ...core.files import atomic_output

#: how each role is drawn: colour, marker, line style (a compared method not listed takes the next colour)
STYLES = {
    "observed": ("#1a9641", "o", "-"),
    "masked": ("#1a9641", "o", "none"),
    "coarse": ("#8c8c8c", "s", ":"),
    "reference": ("#6a51a3", ".", "--"),
    "fused": ("#d7191c", "D", "-"),
    "starfm": ("#2166ac", "^", "-"),
}
OTHER_COLOURS = ["#ff7f00", "#a65628", "#f781bf", "#999999"]
BAND = "TSSTFN ± 2 std (MC dropout)"


class ProfileChart(QWidget):
    """A chart of one pixel's (or field's) NDVI season, with a hover read-out and PNG/SVG export."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.figure = Figure(figsize=(8, 3.2), dpi=96)
        self.figure.subplots_adjust(left=0.07, right=0.72, bottom=0.12, top=0.9)  # fixed: no layout pass per click
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.ax = self.figure.add_subplot(111)
        self._axes_once()
        self.readout = QLabel("Click a pixel of the run with the profile tool.")
        self.readout.setObjectName("profileReadout")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.readout)
        self.points: list[tuple[float, float, str, str]] = []  # (x as date number, y, label, text) for the hover
        self.canvas.mpl_connect("motion_notify_event", self._on_move)

    # drawing ---------------------------------------------------------------------------------
    def show_samples(
        self, samples, title: str, season: tuple[dt.date, dt.date] | None = None, season_label: str = "critical season"
    ) -> None:
        """Draw ``samples`` (core.profile.Sample): one series per role, the MC-dropout band, the shaded season."""
        ax = self.ax
        self._remove_series()
        self.points = []
        if season is not None:
            ax.axvspan(date2num(season[0]), date2num(season[1]), color="#fff3b0", alpha=0.6, label=season_label, lw=0)
        by_role: dict[str, list] = {}
        for s in samples:
            by_role.setdefault(s.role, []).append(s)
        std = {s.date: s.value for s in by_role.pop("uncertainty", [])}
        extra = iter(OTHER_COLOURS)
        for role, items in by_role.items():
            items = sorted(items, key=lambda s: s.plot_date)
            colour, marker, style = STYLES.get(role) or (next(extra, "#333333"), "v", "-")
            xs = [date2num(s.plot_date) for s in items]
            ys = [s.value for s in items]
            label = _label(items[0])
            if role == "masked":
                ax.plot(xs, ys, ls="none", marker=marker, mfc="none", mec=colour, ms=7, label=label)
            else:
                ax.plot(xs, ys, ls=style, marker=marker, color=colour, ms=5, lw=1.3, label=label)
            if items[0].std is not None and role != "masked":  # a field: the spread over its pixels
                lo = [s.value - (s.std or 0.0) for s in items]
                hi = [s.value + (s.std or 0.0) for s in items]
                ax.fill_between(xs, lo, hi, color=colour, alpha=0.12, lw=0)
            if role == "fused" and std:
                self._band(items, std, colour)
            for s, x in zip(items, xs):
                if math.isfinite(s.value):
                    extra_text = f" ± {2 * std[s.date]:.3f} (2 std)" if role == "fused" and s.date in std else ""
                    spread = f" (field sd {s.std:.3f}, {s.n} px)" if s.std is not None else ""
                    self.points.append((x, s.value, label, f"{s.date.isoformat()}  {label}: {s.value:.4f}{extra_text}{spread}"))
        ax.set_title(title, fontsize=9)
        dates = [s.plot_date for s in samples] + (list(season) if season else [])
        if dates:
            ax.set_xlim(date2num(min(dates)) - 7, date2num(max(dates)) + 7)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
        self.readout.setText("Hover a point to read its date and value.")
        self.canvas.draw_idle()

    def _axes_once(self) -> None:
        """What every chart shares: labels, fixed NDVI range, month ticks, grid (set once, not per click)."""
        ax = self.ax
        ax.set_ylabel("NDVI")
        ax.set_ylim(-0.1, 1.0)
        ax.xaxis.set_major_locator(MonthLocator())
        ax.xaxis.set_major_formatter(DateFormatter("%b"))
        ax.grid(True, alpha=0.3)

    def _remove_series(self) -> None:
        for artist in [*self.ax.lines, *self.ax.collections, *self.ax.patches]:
            artist.remove()
        legend = self.ax.get_legend()
        if legend is not None:
            legend.remove()

    def _band(self, items, std: dict, colour: str) -> None:
        """TSSTFN ± 2 std: a shaded band and its two edges (drawn lines, so that their values can be read back)."""
        rows = [(date2num(s.plot_date), s.value, std[s.date]) for s in items if s.date in std]
        if not rows:
            return
        xs = [r[0] for r in rows]
        lo = [r[1] - 2 * r[2] for r in rows]
        hi = [r[1] + 2 * r[2] for r in rows]
        self.ax.fill_between(xs, lo, hi, color=colour, alpha=0.2, lw=0, label=BAND)
        self.ax.plot(xs, lo, ls="none", marker="_", color=colour, label="_band_low")
        self.ax.plot(xs, hi, ls="none", marker="_", color=colour, label="_band_high")

    def clear(self, text: str) -> None:
        """An empty chart with ``text`` under it."""
        self._remove_series()
        self.ax.set_title("")
        self.points = []
        self.canvas.draw_idle()
        self.readout.setText(text)

    # reading back ----------------------------------------------------------------------------
    def plotted(self) -> dict[str, list[tuple[dt.date, float]]]:
        """Every drawn series as the axes hold it: label -> [(date, value)] (``_band_low``/``_band_high``: the band)."""
        out: dict[str, list[tuple[dt.date, float]]] = {}
        for line in self.ax.get_lines():
            xs, ys = line.get_xdata(), line.get_ydata()
            out[line.get_label()] = [(num2date(x).date(), float(y)) for x, y in zip(xs, ys)]
        return out

    def nearest(self, x: float, y: float) -> str | None:
        """The read-out of the drawn point nearest to data coordinates ``(x, y)`` (within 6 px on screen), or None."""
        if not self.points:
            return None
        to_px = self.ax.transData.transform
        px, py = to_px((x, y))
        best = min(self.points, key=lambda p: (to_px((p[0], p[1]))[0] - px) ** 2 + (to_px((p[0], p[1]))[1] - py) ** 2)
        bx, by = to_px((best[0], best[1]))
        return best[3] if (bx - px) ** 2 + (by - py) ** 2 <= 36 else None

    def _on_move(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None:
            return
        text = self.nearest(event.xdata, event.ydata)
        if text:
            self.readout.setText(text)

    def save(self, path) -> None:
        """The chart as PNG or SVG (by the file's suffix), written atomically."""
        fmt = str(path).rsplit(".", 1)[-1].lower()
        with atomic_output(path) as tmp:
            self.figure.savefig(str(tmp), format=fmt, dpi=150 if fmt == "png" else None)


def _label(sample) -> str:
    if sample.role == "reference":
        return f"reference year {sample.date.year} (on {sample.plot_date.year}'s dates)"
    return sample.label
