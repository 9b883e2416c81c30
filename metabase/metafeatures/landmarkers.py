"""Landmarkers (group ``landmarking``)."""
