"""Every shipped step on small synthetic volumes with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from processing.chunked import MemoryBudgetError
from processing.runner import run_step
from processing.step import ParameterError, StepContext
from processing.steps.filters.gaussian_v1 import GAUSSIAN_V1
from processing.steps.filters.median_v1 import MEDIAN_V1
from processing.steps.filters.nlmeans_v1 import NLMEANS_V1
from processing.steps.measure.particles_v1 import PARTICLES_V1
from processing.steps.measure.porosity_v1 import POROSITY_V1
from processing.steps.measure.surface_area_v1 import SURFACE_AREA_V1
from processing.steps.morphology.closing_v1 import CLOSING_V1
from processing.steps.morphology.opening_v1 import OPENING_V1
from processing.steps.roi.crop_v1 import CROP_V1
from processing.steps.segmentation.label_v1 import LABEL_V1
from processing.steps.segmentation.multiotsu_v1 import MULTIOTSU_V1
from processing.steps.segmentation.otsu_v1 import OTSU_V1
from processing.steps.segmentation.threshold_v1 import THRESHOLD_V1
from processing.steps.segmentation.watershed_v1 import WATERSHED_V1
from processing.steps.transform.bin_v1 import BIN_V1
from processing.steps.transform.resample_v1 import RESAMPLE_V1

from .conftest import ball_mask, noisy_volume

CTX = StepContext()


def run(spec, configuration, ctx=CTX, **inputs):
    return run_step(spec, spec.parse_params(configuration), inputs, ctx)


def test_crop_copies_the_box_and_refuses_bounds_beyond_the_image():
    image = np.arange(6 * 7 * 8, dtype=np.uint16).reshape(6, 7, 8)
    box = {"z_start": 1, "z_stop": 5, "y_start": 2, "y_stop": 7, "x_start": 0, "x_stop": 3}
    out = run(CROP_V1, box, StepContext(memory_budget_bytes=7 * 8 * 2 * 2), image=image)
    assert np.array_equal(out.arrays["image"], image[1:5, 2:7, 0:3])
    with pytest.raises(ParameterError, match="x_stop"):
        run(CROP_V1, {**box, "x_stop": 9}, image=image)
    flat = run(CROP_V1, {**box, "z_start": 0, "z_stop": 1}, image=image[0])
    assert np.array_equal(flat.arrays["image"], image[0, 2:7, 0:3])


def test_bin_is_the_block_mean_and_scales_the_voxel_size():
    image = np.arange(4 * 4 * 5, dtype=np.float32).reshape(4, 4, 5)
    ctx = StepContext(voxel_size_um=(2.0, 1.0, 0.5))
    out = run(BIN_V1, {"factor": 2}, ctx, image=image)
    assert out.arrays["image"].shape == (2, 2, 2)
    assert out.arrays["image"][0, 0, 0] == image[:2, :2, :2].mean()
    assert out.voxel_size_um == (4.0, 2.0, 1.0)


def test_resample_keeps_a_linear_ramp_and_sets_the_voxel_size():
    ramp = np.broadcast_to(np.arange(20, dtype=np.float32), (10, 12, 20)).copy()
    out = run(RESAMPLE_V1, {"zoom": 0.5}, image=ramp)
    assert out.arrays["image"].shape == (5, 6, 10)
    assert np.allclose(out.arrays["image"][2, 3], np.arange(10) * 2 + 0.5)
    assert out.voxel_size_um == (2.0, 2.0, 2.0)


def test_gaussian_preserves_the_mean_of_a_constant_and_reduces_noise():
    assert np.allclose(
        run(GAUSSIAN_V1, {"sigma": 2.0}, image=np.full((9, 9, 9), 7.0)).arrays["image"], 7.0
    )
    image = noisy_volume((20, 20, 20))
    smooth = run(GAUSSIAN_V1, {"sigma": 2.0}, image=image).arrays["image"]
    assert smooth.dtype == np.float32
    assert smooth.std() < image.std() / 4


def test_median_removes_salt_noise():
    image = np.zeros((9, 9, 9), np.uint8)
    image[4, 4, 4] = 255
    assert not run(MEDIAN_V1, {"radius": 1}, image=image).arrays["image"].any()


def test_nlmeans_denoises_and_is_reproducible():
    clean = np.zeros((12, 16, 16), np.float32)
    clean[:, :, 8:] = 100.0
    noisy = clean + np.random.default_rng(1).normal(0, 10, clean.shape).astype(np.float32)
    params = {"h": 8.0, "patch_size": 3, "patch_distance": 3, "slab_planes": 5}
    out1 = run(NLMEANS_V1, params, image=noisy).arrays["image"]
    out2 = run(NLMEANS_V1, params, image=noisy).arrays["image"]
    assert np.array_equal(out1, out2)
    assert np.abs(out1 - clean).mean() < np.abs(noisy - clean).mean() / 2


def test_nlmeans_refuses_a_slab_over_budget():
    with pytest.raises(MemoryBudgetError, match="slab_planes"):
        run(
            NLMEANS_V1,
            {"h": 1.0},
            StepContext(memory_budget_bytes=1000),
            image=noisy_volume((40, 20, 20)),
        )


def _bimodal() -> np.ndarray:
    rng = np.random.default_rng(2)
    image = rng.normal(50, 5, (16, 16, 16))
    image[:, :, 8:] = rng.normal(150, 5, (16, 16, 8))
    return image.astype(np.float32)


def test_otsu_splits_the_modes():
    image = _bimodal()
    out = run(OTSU_V1, {}, image=image)
    assert image[:, :, :8].max() <= out.scalars["threshold"] < image[:, :, 8:].min()
    expected = np.zeros((16, 16, 16), np.uint8)
    expected[:, :, 8:] = 1
    assert np.array_equal(out.arrays["mask"], expected)
    below = run(OTSU_V1, {"foreground": "below"}, image=_bimodal()).arrays["mask"]
    assert np.array_equal(below, 1 - expected)


def test_multiotsu_finds_three_phases():
    image = np.concatenate([np.full((4, 6, 6), v, np.float32) for v in (10, 100, 200)])
    out = run(MULTIOTSU_V1, {"classes": 3}, image=image)
    assert 10 < out.scalars["threshold_1"] < 100 < out.scalars["threshold_2"] < 200
    assert [np.unique(out.arrays["phases"][4 * i : 4 * i + 4]).tolist() for i in range(3)] == [
        [0],
        [1],
        [2],
    ]


def test_manual_threshold():
    image = np.arange(10, dtype=np.int16).reshape(10, 1, 1)
    out = run(THRESHOLD_V1, {"threshold": 6.5}, image=image).arrays["mask"]
    assert out.ravel().tolist() == [0] * 7 + [1] * 3
    out = run(THRESHOLD_V1, {"threshold": 6, "foreground": "below"}, image=image)
    assert out.arrays["mask"].ravel().tolist() == [1] * 7 + [0] * 3


def test_opening_removes_specks_and_closing_fills_holes():
    mask = ball_mask((30, 30, 30), [(15, 15, 15)], 8)
    specks = mask.copy()
    specks[2, 2, 2] = 1
    assert np.array_equal(
        run(OPENING_V1, {"radius": 1}, image=specks).arrays["image"],
        run(OPENING_V1, {"radius": 1}, image=mask).arrays["image"],
    )
    assert run(OPENING_V1, {"radius": 1}, image=specks).arrays["image"][2, 2, 2] == 0
    holed = mask.copy()
    holed[15, 15, 15] = 0
    assert run(CLOSING_V1, {"radius": 1}, image=holed).arrays["image"][15, 15, 15] == 1


def test_two_spheres_give_two_particles_with_their_diameters():
    r, voxel = 7, 2.0
    mask = ball_mask((40, 40, 40), [(12, 12, 12), (27, 27, 27)], r)
    ctx = StepContext(voxel_size_um=(voxel, voxel, voxel))
    labels = run(LABEL_V1, {}, ctx, mask=mask)
    assert labels.scalars["count"] == 2
    table = run(PARTICLES_V1, {}, ctx, labels=labels.arrays["labels"]).tables["particles"]
    assert len(table.rows) == 2
    for row in table.rows:
        assert row["volume_um3"] == row["voxels"] * voxel**3
        assert row["equivalent_diameter_um"] == pytest.approx(2 * r * voxel, rel=0.03)
        assert row["sphericity"] == pytest.approx(1.0, abs=0.04)
        assert row["surface_area_um2"] == pytest.approx(4 * math.pi * (r * voxel) ** 2, rel=0.04)
        assert row["touches_border"] is False
        assert (row["z1"] - row["z0"], row["y1"] - row["y0"]) == (2 * r + 1, 2 * r + 1)
    assert table.units["volume_um3"] == "µm³"
    assert table.rows[0]["z0"] == 12 - r


def test_particles_min_voxels_and_border_flag():
    labels = np.zeros((10, 10, 10), np.int32)
    labels[0:3, 0:3, 0:3] = 1
    labels[5, 5, 5] = 2
    rows = run(PARTICLES_V1, {"min_voxels": 2}, labels=labels).tables["particles"].rows
    assert [(r["label"], r["voxels"], r["touches_border"]) for r in rows] == [(1, 27, True)]


def test_watershed_separates_two_touching_spheres():
    mask = ball_mask((30, 30, 44), [(15, 15, 14), (15, 15, 29)], 8)
    assert run(LABEL_V1, {}, mask=mask).scalars["count"] == 1
    out = run(WATERSHED_V1, {"min_distance": 5}, mask=mask)
    labels = out.arrays["labels"]
    assert out.scalars["count"] == 2
    assert labels[15, 15, 14] != labels[15, 15, 29]
    assert set(np.unique(labels)) == {0, 1, 2}
    assert np.array_equal(labels > 0, mask > 0)


def test_watershed_refuses_above_the_memory_budget():
    with pytest.raises(MemoryBudgetError, match="whole image"):
        run(
            WATERSHED_V1,
            {},
            StepContext(memory_budget_bytes=1000),
            mask=np.ones((10, 10, 10), np.uint8),
        )


def test_porosity_of_a_known_fraction_is_exact():
    phases = np.ones((8, 10, 10), np.uint8)
    phases[:2] = 0  # 25 % pores
    phases[2:3] = 2
    out = run(POROSITY_V1, {}, StepContext(voxel_size_um=(0.5, 0.5, 0.5)), phases=phases)
    assert out.scalars["porosity"] == 0.25
    rows = {row["phase"]: row for row in out.tables["phases"].rows}
    assert rows[0]["voxels"] == 200
    assert rows[2]["fraction"] == 0.125
    assert rows[1]["volume_um3"] == 500 * 0.125
    assert sum(row["fraction"] for row in rows.values()) == 1.0


def test_surface_area_of_a_sphere():
    r, voxel = 12, 0.5
    mask = ball_mask((32, 32, 32), [(16, 15.5, 16)], r)
    out = run(SURFACE_AREA_V1, {}, StepContext(voxel_size_um=(voxel,) * 3), mask=mask)
    assert out.scalars["surface_area_um2"] == pytest.approx(
        4 * math.pi * (r * voxel) ** 2, rel=0.02
    )
    assert out.scalar_units["surface_area_um2"] == "µm²"


@pytest.mark.parametrize("sigma", [0.0, 0.7])
def test_surface_area_tiles_agree_with_one_mesh_of_the_whole(sigma):
    from skimage import filters, measure

    mask = ball_mask((70, 30, 30), [(20, 15, 15), (50, 14, 16)], 9)
    mask[0:5, 0:4, :] = 1  # touches the border: the padding closes it
    out = run(SURFACE_AREA_V1, {"smoothing_sigma": sigma}, mask=mask)
    pad = int(4 * sigma + 0.5) + 1
    image = np.pad(mask, pad).astype(np.float64)
    if sigma:
        image = filters.gaussian(image, sigma, mode="constant", truncate=4.0)
    verts, faces, _, _ = measure.marching_cubes(image, 0.5)
    whole = measure.mesh_surface_area(verts, faces)
    assert out.scalars["surface_area_um2"] == pytest.approx(whole, rel=1e-5)
