"""Denoising filters: Gaussian, median, non-local means."""
