"""The one list of OpenML flows known to be a catalogue pipeline by their id alone.

A leaf: the catalogue reads each pipeline's ``OpenMLNames.flow_ids`` from here, and
:func:`pipelines.openml_map.could_be_catalogue` asks it without building the catalogue.
"""

KNOWN_FLOW_IDS = {6969: "sklearn.random_forest"}  # the openml-pimp random forest
