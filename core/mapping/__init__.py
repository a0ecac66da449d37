"""Stage 3, mapping: crop classes from the NDVI time series, their accuracy, and exports.

* :mod:`.samples`: labelled samples and the train/test split;
* :mod:`.classify`: window features, the random forest, the classified map;
* :mod:`.accuracy`: confusion matrix, kappa, per-class scores, reports;
* :mod:`.export`: the crop map as polygons and in other raster formats.
* :mod:`.workflow`: the one crop-mapping path (``map_crops``) of jobs, ``classify`` and Processing.
"""
