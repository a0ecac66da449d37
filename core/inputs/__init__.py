"""Stage 1, inputs: read what users have (products, masks, dates) and align it onto one fine grid.

* :mod:`.products`: the table of sensors/products and mask kinds;
* :mod:`.ndvi`: NDVI out of one raster (:class:`~.ndvi.NdviSource`);
* :mod:`.readers`: the registry of download formats, one module per family (Landsat, Sentinel-2,
  MODIS HDF, ENVI, generic GeoTIFFs/stacks): how each is recognised and resolved into bands and
  QA mask, its date patterns and what its names tell the inventory;
* :mod:`.containers`: :func:`~.containers.resolve_source`, which asks the readers;
* :mod:`.dates`: acquisition dates from names and metadata;
* :mod:`.grid`: the grid everything is aligned to;
* :mod:`.align`: NDVI warped onto that grid;
* :mod:`.inventory`: a list of layers sorted into the job's tables (the dialog's *Fill*).
"""
