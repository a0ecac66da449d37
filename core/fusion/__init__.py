"""Stage 2, fusion: fine NDVI for the cloudy target dates.

* :mod:`.methods`: the registry of fusion methods (TSSTFN, STARFM, the trivial baselines);
* :mod:`.base`: what a method takes and gives;
* :mod:`.tsstfn`, :mod:`.model`, :mod:`.config`, :mod:`.training`, :mod:`.modelfile`,
  :mod:`.prediction`: the network, its training, its file and its tiled prediction;
* :mod:`.strategies`: the time alignment STR_A..STR_E; :mod:`.stacks`: the network's inputs;
* :mod:`.tiling`: patches and streaming; :mod:`.starfm`: STARFM; :mod:`.baselines`;
* :mod:`.metrics`: fusion quality against a real fine image.
"""
