"""Processing provider: the core functions as algorithms (toolbox, modeler, qgis_process)."""
