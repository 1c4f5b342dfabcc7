"""Viewers: OpenSeadragon for 2D images, an orthoslice viewer for volumes (over IIIF)."""
