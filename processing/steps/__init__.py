"""The shipped processing steps: an explicit, closed tuple (no entry points).

One module per (step, version); a released module is never edited. A behaviour change is a
new module ``<name>_v<N+1>.py`` added here, with the old one kept so runs replay.
"""

from __future__ import annotations

from typing import Any

from processing.step import StepSpec
from processing.steps.filters import gaussian_v1, median_v1, nlmeans_v1
from processing.steps.measure import particles_v1, porosity_v1, surface_area_v1
from processing.steps.morphology import closing_v1, opening_v1
from processing.steps.roi import crop_v1
from processing.steps.segmentation import (
    label_v1,
    label_v2,
    multiotsu_v1,
    otsu_v1,
    threshold_v1,
    watershed_v1,
)
from processing.steps.transform import bin_v1, resample_v1

ALL_STEPS: tuple[StepSpec[Any], ...] = (
    crop_v1.CROP_V1,
    bin_v1.BIN_V1,
    resample_v1.RESAMPLE_V1,
    gaussian_v1.GAUSSIAN_V1,
    median_v1.MEDIAN_V1,
    nlmeans_v1.NLMEANS_V1,
    otsu_v1.OTSU_V1,
    multiotsu_v1.MULTIOTSU_V1,
    threshold_v1.THRESHOLD_V1,
    opening_v1.OPENING_V1,
    closing_v1.CLOSING_V1,
    watershed_v1.WATERSHED_V1,
    label_v1.LABEL_V1,
    label_v2.LABEL_V2,
    particles_v1.PARTICLES_V1,
    porosity_v1.POROSITY_V1,
    surface_area_v1.SURFACE_AREA_V1,
)

__all__ = ["ALL_STEPS"]
