"""Chunked processing gives the same bits as processing the whole image at once."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from processing.chunked import MemoryBudgetError, histogram, plan_slabs, planes_for_budget
from processing.runner import run_step
from processing.step import StepContext
from processing.steps.filters.gaussian_v1 import GAUSSIAN_V1
from processing.steps.filters.median_v1 import MEDIAN_V1
from processing.steps.morphology.closing_v1 import CLOSING_V1
from processing.steps.morphology.opening_v1 import OPENING_V1
from processing.steps.segmentation.label_v1 import LABEL_V1
from processing.steps.segmentation.label_v2 import LABEL_V2, smallest_label_dtype
from processing.steps.transform.bin_v1 import BIN_V1
from processing.steps.transform.resample_v1 import RESAMPLE_V1

from .conftest import noisy_volume

WHOLE = StepContext(memory_budget_bytes=1 << 30)
SHAPE = (37, 21, 19)


def _tiny(bytes_per_voxel: int, planes: int) -> StepContext:
    """A budget that allows about ``planes`` planes (plus halo) per slab."""
    return StepContext(memory_budget_bytes=SHAPE[1] * SHAPE[2] * bytes_per_voxel * planes)


def test_plan_slabs_cover_every_plane_once_with_halo():
    slabs = plan_slabs(10, 4, 2)
    assert [(s.start, s.stop, s.read_start, s.read_stop) for s in slabs] == [
        (0, 4, 0, 6),
        (4, 8, 2, 10),
        (8, 10, 6, 10),
    ]


def test_budget_below_one_slab_is_refused_clearly():
    with pytest.raises(MemoryBudgetError, match="memory budget of 100 bytes"):
        planes_for_budget((10, 10, 10), bytes_per_voxel=8, depth=1, budget_bytes=100, what="x")


@pytest.mark.parametrize(
    ("spec", "configuration", "bytes_per_voxel"),
    [
        (GAUSSIAN_V1, {"sigma": 1.3}, 40),
        (GAUSSIAN_V1, {"sigma": 0.6}, 40),
        (MEDIAN_V1, {"radius": 2}, 24),
        (OPENING_V1, {"radius": 2}, 24),
        (CLOSING_V1, {"radius": 1}, 24),
        (BIN_V1, {"factor": 3}, 24),
        (RESAMPLE_V1, {"zoom": 0.7}, 40),
        (RESAMPLE_V1, {"zoom": 1.6}, 40),
    ],
)
@pytest.mark.parametrize("planes", [1, 3, 8])
def test_chunked_is_bit_identical_to_whole(spec, configuration, bytes_per_voxel, planes):
    params = spec.parse_params(configuration)
    halo = 2 * int(configuration.get("sigma", 0) * 4 + 0.5) + 4 * configuration.get("radius", 0) + 2
    ctx = _tiny(bytes_per_voxel, planes + halo)
    image = noisy_volume(SHAPE)
    whole = run_step(spec, params, {"image": image}, WHOLE).arrays["image"]
    chunked = run_step(spec, params, {"image": image}, ctx).arrays["image"]
    assert chunked.dtype == whole.dtype
    assert np.array_equal(chunked, whole)


def test_median_and_opening_keep_integer_dtype_chunked():
    image = np.random.default_rng(3).integers(0, 4000, SHAPE, dtype=np.uint16)
    for spec in (MEDIAN_V1, OPENING_V1):
        params = spec.parse_params({"radius": 1})
        whole = run_step(spec, params, {"image": image}, WHOLE).arrays["image"]
        chunked = run_step(spec, params, {"image": image}, _tiny(24, 7)).arrays["image"]
        assert whole.dtype == np.uint16
        assert np.array_equal(chunked, whole)


def test_filters_on_2d_images():
    image = noisy_volume((40, 33))
    params = GAUSSIAN_V1.parse_params({"sigma": 1.0})
    whole = run_step(GAUSSIAN_V1, params, {"image": image}, WHOLE).arrays["image"]
    chunked = run_step(
        GAUSSIAN_V1, params, {"image": image}, StepContext(memory_budget_bytes=33 * 40 * 12)
    ).arrays["image"]
    assert np.array_equal(whole, chunked)


def test_histogram_does_not_depend_on_slab_size():
    image = noisy_volume(SHAPE)
    counts1, centres1 = histogram(image, bins=64, planes=1)
    counts2, centres2 = histogram(image, bins=64, planes=SHAPE[0])
    assert np.array_equal(counts1, counts2)
    assert np.array_equal(centres1, centres2)
    assert counts1.sum() == image.size


@pytest.mark.parametrize("connectivity", [1, 2, 3])
@pytest.mark.parametrize("planes", [1, 2, 5])
def test_chunked_labelling_equals_scipy_on_the_whole_mask(connectivity, planes):
    mask = (np.random.default_rng(7).random(SHAPE) > 0.62).astype(np.uint8)
    structure = ndi.generate_binary_structure(3, connectivity)
    expected, count = ndi.label(mask, structure=structure)
    params = LABEL_V1.parse_params({"connectivity": connectivity})
    result = run_step(LABEL_V1, params, {"mask": mask}, _tiny(24, planes))
    assert result.scalars["count"] == count
    assert np.array_equal(result.arrays["labels"], expected)


def test_labelling_merges_a_u_shape_across_slabs():
    mask = np.zeros((8, 5, 9), np.uint8)
    mask[:, 2, 1] = 1  # left arm, all planes
    mask[:, 2, 7] = 1  # right arm
    mask[7, 2, 1:8] = 1  # joined only in the last plane
    result = run_step(
        LABEL_V1,
        LABEL_V1.parse_params({}),
        {"mask": mask},
        StepContext(memory_budget_bytes=5 * 9 * 24 * 2),
    )
    assert result.scalars["count"] == 1
    assert set(np.unique(result.arrays["labels"])) == {0, 1}


@pytest.mark.parametrize(
    ("spacing", "dtype"), [(6, np.uint8), (2, np.uint16)], ids=["few-uint8", "many-uint16"]
)
def test_label_v2_numbers_like_v1_in_the_smallest_unsigned_type(spacing, dtype):
    mask = np.zeros((4, 64, 64), np.uint8)
    mask[1, ::spacing, ::spacing] = 1  # isolated voxels: one component each
    v1 = run_step(LABEL_V1, LABEL_V1.parse_params({}), {"mask": mask}, WHOLE)
    v2 = run_step(
        LABEL_V2,
        LABEL_V2.parse_params({}),
        {"mask": mask},
        StepContext(memory_budget_bytes=64 * 64 * 28 * 2),
    )
    assert v2.arrays["labels"].dtype == dtype
    assert v2.scalars["count"] == v1.scalars["count"]
    assert np.array_equal(v2.arrays["labels"], v1.arrays["labels"])


def test_smallest_label_dtype_bounds():
    assert smallest_label_dtype(0) == np.uint8
    assert smallest_label_dtype(255) == np.uint8
    assert smallest_label_dtype(256) == np.uint16
    assert smallest_label_dtype(65_536) == np.uint32
    with pytest.raises(ValueError, match="do not fit 32 bits"):
        smallest_label_dtype(2**32)
