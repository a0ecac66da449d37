"""Stage 1, inputs: read what users have (products, masks, dates) and align it onto one fine grid.

* :mod:`.products`: the table of sensors/products and mask kinds;
* :mod:`.ndvi`: NDVI out of one raster (:class:`~.ndvi.NdviSource`);
* :mod:`.dates`: acquisition dates from names and metadata;
* :mod:`.grid`: the grid everything is aligned to;
* :mod:`.align`: NDVI warped onto that grid;
* :mod:`.inventory`: a list of layers sorted into the job's tables (the dialog's *Fill*).
"""
