"""What users download, resolved into the bands NDVI is read from: the readers' registry asked.

:func:`resolve_source` turns an :class:`~.ndvi.NdviSource` whose path is a container into one whose
paths are the product's bands, with the product's QA layer as its mask (unless the source gives a
mask, or ``mask_path=""`` to use none). The first reader of :mod:`.readers` that recognises the path
resolves it (Landsat Collection 2 Level-2 scenes, Sentinel-2 L2A SAFE/zip/metadata/band files,
MODIS HDF4 granules and subdatasets, ENVI headers; see each reader's module); anything else is
returned unchanged (plain GeoTIFFs, stacks, ENVI data files).
"""

from __future__ import annotations

from . import readers
from .ndvi import NdviSource


def container_file(path: str) -> str:
    """The file behind a GDAL connection string (an HDF or Sentinel-2 subdataset), else ``path``."""
    return readers.connection_file(path) or path


def resolve_source(source: NdviSource) -> NdviSource:
    """``source`` with its container resolved into bands, product and QA mask (see the module docstring).

    Raises:
        InputError: a container whose bands cannot be found, naming it and what is missing.
    """
    reader = readers.reader_for(source.path)
    return source if reader is None else reader.resolve(source)
