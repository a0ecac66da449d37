"""Qt/QGIS user interface: gathers inputs, calls ``core``, shows results. No logic of its own."""
