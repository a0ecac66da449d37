"""Reading COGs over HTTP with GDAL: the paths (``/vsicurl/``, ``/vsis3/``) and the settings of this thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from osgeo import gdal

from ..errors import InputError

_REMOTE = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "VSI_CACHE": "TRUE",
}


@contextmanager
def remote_options() -> Iterator[None]:
    """GDAL settings for reading COGs over HTTP (this thread only): no directory listing, retries."""
    old = {k: gdal.GetThreadLocalConfigOption(k, None) for k in _REMOTE}
    for k, v in _REMOTE.items():
        gdal.SetThreadLocalConfigOption(k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            gdal.SetThreadLocalConfigOption(k, v)


def gdal_path(href: str) -> str:
    """The GDAL path of an asset URL: ``/vsicurl/`` for http(s), ``/vsis3/`` for s3.

    An allow-list: a catalogue is untrusted, so a local path, a GDAL virtual path or an inline VRT as an
    asset's href is refused (it would make GDAL read a file of this machine).

    Raises:
        InputError: any other href, naming it.
    """
    scheme = urlparse(href).scheme.lower()
    if scheme in ("http", "https") and not href.startswith("/"):
        return "/vsicurl/" + href
    if scheme == "s3":
        return "/vsis3/" + href[5:]
    raise InputError(
        f"The STAC asset '{href[:200]}' is not an http(s) or s3 URL; the fetch reads only those. Check the endpoint "
        "(a catalogue of local files is not supported)."
    )
