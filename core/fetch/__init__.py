"""Getting the imagery: Sentinel-2 / Landsat scenes and the MODIS composites of their days, from STAC APIs.

Find them, pair them, and download only the area of interest as dated GeoTIFFs that Fill and the job place.

* :mod:`.catalog`: the endpoints and collections (ids and asset keys as the services publish them);
* :mod:`.request`: the fetch job (what to search for, where to write), read from and written to a file;
* :mod:`.search`: the search (``pystac-client``, imported lazily) and the cloud over the AOI;
* :mod:`.pairing`: each fine scene with its MODIS item, the critical-season targets;
* :mod:`.download`: the windowed, reprojected, atomic, resumable download (GDAL ``/vsicurl/``, :mod:`.remote`);
* :mod:`.run`: the whole path, as the command line (:mod:`.cli`), the dialog and the tests call it.

No QGIS here: the dialog (``ui/fetch_dialog.py``) and ``python -m tsstfn_crop_mapper fetch`` call the same functions.
"""
