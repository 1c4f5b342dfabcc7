"""Readers for CT and microscopy formats, one module per format."""
