"""Class names from the user's data, never invented, and the legend files written beside a crop map.

Where names come from, in order:

* the samples' class field holds text: the text is the name (codes 1, 2, ... in sorted order);
* integer codes with a lookup file the user chose (``class_names_file``), first: a CSV
  ``code,name`` (a header row and ``;`` or tab separators are fine), a QGIS style ``.qml``
  (paletted/unique-values raster renderer, categorized vector renderer, or a colour ramp's items)
  or a QGIS/GDAL colour map ``.clr``/``.txt`` (``code R G B [A] label`` per line, as *Export
  colour map* writes);
* then a mapping ``{code: name}`` for the codes the file leaves out (or without a file): a QGIS
  value map (the dialog and Processing pass the class field's *Value Map* widget configuration)
  or a job's ``class_names``;
* a label raster's category names (GDAL's ``GetCategoryNames``) or its attribute table's name
  column;
* else the code itself as text: ``"4"``, never ``"class 4"`` or a crop the user did not name.

The legend of a crop map (:func:`write_legend`: ``<map>.qml``, which QGIS loads with the raster,
and ``<map>.clr``) lists only the classes the forest learned, never 255 colour-table entries.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from ..errors import InputError
from ..files import PathLike, atomic_output

log = logging.getLogger("tsstfn")

#: a lookup file lists class names: kilobytes; more is not a lookup file
MAX_LOOKUP_BYTES = 4 << 20
#: the suffixes of lookup files :func:`read_class_names` reads
LOOKUP_SUFFIXES = (".csv", ".qml", ".clr", ".txt")
#: colours of the classes in the order of their codes (the map's colour table and legend)
PALETTE = (
    (230, 200, 74), (63, 143, 58), (184, 184, 176), (31, 120, 180), (227, 26, 28), (255, 127, 0), (106, 61, 154),
    (166, 206, 227), (178, 223, 138), (251, 154, 153), (253, 191, 111), (202, 178, 214), (177, 89, 40), (255, 255, 153),
)  # fmt: skip


def class_colour(code: int) -> tuple[int, int, int]:
    """The colour of class ``code`` (a fixed palette, then a hash for codes beyond it)."""
    if 1 <= code <= len(PALETTE):
        return PALETTE[code - 1]
    return ((code * 67) % 256, (code * 131) % 256, (code * 29) % 256)


def coerce_names(names: Mapping | None, what: str = "class_names") -> dict[int, str] | None:
    """``{code: name}`` from a mapping whose keys may be text (a JSON object, a QGIS value map ``{name: code}``).

    A QGIS *Value Map* configuration maps the shown text to the stored value; a job file maps codes to
    names. Either way round, the integer side is the code.

    Raises:
        InputError: a key or value that is neither an integer code nor a name, naming it.
    """
    if not names:
        return None
    out: dict[int, str] = {}
    for key, value in names.items():
        k, v = as_code(key), as_code(value)
        if k is not None:
            out[k] = str(value).strip()
        elif v is not None:
            out[v] = str(key).strip()
        else:
            raise InputError(
                f"Job field '{what}': neither '{key}' nor '{value}' is an integer class code; map codes to names, "
                'e.g. {"1": "soybean"}.'
            )
    return {k: v for k, v in out.items() if v}


def as_code(value: object) -> int | None:
    """``value`` as an integer class code, or None: the one rule of what a class code is (samples and lookups).

    An integer, a float with no fraction (a class field stored as Real: GeoPackage REAL, a Shapefile
    field with decimals gives ``1.0``) or text of one (``"4"``, ``"4.0"``); never a bool.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else None
    text = str(value).strip()
    found = re.fullmatch(r"([+-]?\d+)(\.0*)?", text)
    return int(found.group(1)) if found else None


def read_class_names(path: PathLike) -> dict[int, str]:
    """``{code: name}`` from a lookup file: CSV ``code,name``, a QGIS ``.qml`` style, or a ``.clr``/``.txt`` colour map.

    Raises:
        InputError: a missing, too large, unreadable or empty file, or one of another kind, naming it.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in LOOKUP_SUFFIXES:
        raise InputError(
            f"Class names file '{p.name}' is not a CSV (code,name), a QGIS style (.qml) or a colour map (.clr, .txt); "
            "export the class field's names as one of these."
        )
    try:
        if not p.is_file():
            raise InputError(f"Class names file '{p}' not found (or not a file).")
        if p.stat().st_size > MAX_LOOKUP_BYTES:
            raise InputError(f"Class names file '{p.name}' is larger than {MAX_LOOKUP_BYTES >> 20} MB; is it the lookup file?")
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"Class names file '{p.name}' is not UTF-8 text; save it as UTF-8.") from None
    except OSError as exc:
        raise InputError(f"Cannot read the class names file '{p}': {exc.strerror or exc}.") from None
    names = _from_qml(text, p.name) if suffix == ".qml" else _from_colour_map(text) if _is_colour_map(text) else _from_csv(text)
    if not names:
        raise InputError(
            f"Class names file '{p.name}' names no class: it needs lines 'code,name' (CSV), 'code R G B A name' (colour "
            "map) or a QGIS style with paletted or categorized classes."
        )
    return names


def _is_colour_map(text: str) -> bool:
    lines = [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]
    lines = [s for s in lines if not s.upper().startswith("INTERPOLATION")]
    return bool(lines) and all(re.match(r"^[+-]?\d+(\.\d+)?[ \t]+\d+[ \t]+\d+[ \t]+\d+", s) for s in lines)


def _from_colour_map(text: str) -> dict[int, str]:
    """``code R G B [A] [label]`` lines (QGIS's exported colour map, GDAL's colour file)."""
    out: dict[int, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 5)
        if len(parts) < 4 or line.lstrip().startswith("#"):
            continue
        code = as_code(parts[0])
        label = parts[5] if len(parts) > 5 else (parts[4] if len(parts) == 5 and as_code(parts[4]) is None else "")
        if code is not None and label.strip():
            out[code] = label.strip()
    return out


def _from_csv(text: str) -> dict[int, str]:
    """``code,name`` rows (``;`` or tab separated too); a header row is skipped."""
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    out: dict[int, str] = {}
    for row in csv.reader(io.StringIO(text), dialect):
        cells = [c.strip() for c in row if c.strip()]
        if len(cells) >= 2 and as_code(cells[0]) is not None:
            out[int(as_code(cells[0]) or 0)] = cells[1]
    return out


def _from_qml(text: str, name: str) -> dict[int, str]:
    """The classes of a QGIS style: paletted entries, categories or colour ramp items with integer values."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # no document type or entities in a QGIS style: refuse them unread
        raise InputError(f"QGIS style '{name}' declares a document type or entities, which QGIS styles never hold.")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise InputError(f"QGIS style '{name}' is not valid XML ({exc}); save the style again from QGIS.") from None
    out: dict[int, str] = {}
    for tag in ("paletteEntry", "category", "item"):
        for el in root.iter(tag):
            code, label = as_code(el.get("value", "")), (el.get("label") or "").strip()
            if code is not None and label:
                out.setdefault(code, label)
        if out:
            break
    return out


def raster_class_names(band: object) -> dict[int, str]:
    """``{code: name}`` of a label raster's band: its category names, else its attribute table's name column."""
    names = {i: n.strip() for i, n in enumerate(band.GetCategoryNames() or []) if n and n.strip()}  # type: ignore[attr-defined]
    if names:
        return names
    rat = band.GetDefaultRAT()  # type: ignore[attr-defined]
    if rat is None or rat.GetRowCount() == 0:
        return {}
    from osgeo import gdal

    usages = [rat.GetUsageOfCol(i) for i in range(rat.GetColumnCount())]
    cols = [rat.GetNameOfCol(i).lower() for i in range(rat.GetColumnCount())]
    value_col = next((i for i, u in enumerate(usages) if u in (gdal.GFU_MinMax, gdal.GFU_Min)), None)
    if value_col is None:
        value_col = next((i for i, c in enumerate(cols) if c in ("value", "code", "class_id", "id")), None)
    name_col = next((i for i, u in enumerate(usages) if u == gdal.GFU_Name), None)
    if name_col is None:
        name_col = next((i for i, c in enumerate(cols) if c in ("class_name", "name", "label", "class", "classname")), None)
    if name_col is None:
        return {}
    out = {}
    for row in range(rat.GetRowCount()):
        code = row if value_col is None else as_code(rat.GetValueAsString(row, value_col))
        label = rat.GetValueAsString(row, name_col).strip()
        if code is not None and label:
            out[code] = label
    return out


def names_for_codes(codes: Iterable[int], given: Mapping[int, str] | None, source: str) -> dict[int, str]:
    """The name of each code: ``given`` where it names it, else the code as text (with a warning naming the gaps)."""
    codes = sorted({int(c) for c in codes})
    given = dict(given or {})
    missing = [c for c in codes if c not in given]
    if given and missing:
        log.warning(
            "%s: class code(s) %s have no name in the class names given; they are shown as their codes",
            source,
            ", ".join(map(str, missing)),
        )
    return {c: given.get(c, str(c)) for c in codes}


def write_legend(crop_map: PathLike, names: Mapping[int, str]) -> list[Path]:
    """``<map>.qml`` (the QGIS style QGIS loads with the raster) and ``<map>.clr``: only the classes of ``names``."""
    from xml.sax.saxutils import quoteattr

    path = Path(crop_map)
    qml, clr = path.with_suffix(".qml"), path.with_suffix(".clr")
    entries = []
    lines = []
    for code, label in sorted(names.items()):
        r, g, b = class_colour(code)
        entries.append(
            f'        <paletteEntry value="{code}" color="#{r:02x}{g:02x}{b:02x}" alpha="255" label={quoteattr(label)}/>'
        )
        lines.append(f"{code} {r} {g} {b} 255 {label}")
    text = (
        "<!-- written by TSSTFN Crop Mapper: the crop map's classes -->\n"
        '<qgis version="3.22" styleCategories="Symbology">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">\n'
        "      <colorPalette>\n" + "\n".join(entries) + "\n      </colorPalette>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n"
        "</qgis>\n"
    )
    for target, content in ((qml, text), (clr, "\n".join(lines) + "\n")):
        with atomic_output(target) as tmp:
            Path(tmp).write_text(content, encoding="utf-8")
    return [qml, clr]
