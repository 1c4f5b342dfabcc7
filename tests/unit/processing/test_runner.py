"""Port validation, in-memory workflows, replayability and the environment record."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from lims.storage.arrays import array_digest
from processing.environment import environment
from processing.runner import WorkflowStep, result_digests, run_step, run_workflow
from processing.step import (
    ParameterError,
    Params,
    Port,
    StepContext,
    StepInputError,
    StepResult,
    StepSpec,
    param,
)
from processing.steps.filters.gaussian_v1 import GAUSSIAN_V1, GaussianParams
from processing.steps.filters.median_v1 import MedianParams
from processing.steps.measure.particles_v1 import PARTICLES_V1, ParticlesParams
from processing.steps.measure.porosity_v1 import POROSITY_V1, PorosityParams
from processing.steps.segmentation.label_v1 import LABEL_V1, LabelParams
from processing.steps.segmentation.otsu_v1 import OTSU_V1, OtsuParams
from processing.steps.transform.bin_v1 import BIN_V1, BinParams

from .conftest import ball_mask, noisy_volume

CTX = StepContext()


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "missing inputs \\['image'\\]"),
        ({"image": np.zeros((3, 3, 3)), "extra": np.zeros(3)}, "unexpected \\['extra'\\]"),
        ({"image": np.zeros(5)}, "expects \\[2, 3\\]-D, got 1-D"),
        ({"image": np.zeros((3, 3, 3), complex)}, "dtype kind"),
        ({"image": np.zeros((0, 3, 3))}, "empty"),
    ],
)
def test_inputs_are_checked_against_the_ports(inputs, message):
    with pytest.raises(StepInputError, match=message):
        run_step(GAUSSIAN_V1, GaussianParams(), inputs, CTX)


def test_wrong_parameter_class_is_refused():
    with pytest.raises(ParameterError, match="GaussianParams"):
        run_step(GAUSSIAN_V1, MedianParams(), {"image": np.zeros((3, 3, 3))}, CTX)


def test_workflow_chains_outputs_to_inputs_by_port_name():
    mask = ball_mask((30, 30, 30), [(9, 9, 9), (20, 20, 20)], 5)
    image = (mask * 100.0 + noisy_volume(mask.shape) * 0.05).astype(np.float32)
    steps = [
        WorkflowStep(BIN_V1, BinParams(factor=1)),
        WorkflowStep(GAUSSIAN_V1, GaussianParams(sigma=0.5)),
        WorkflowStep(OTSU_V1, OtsuParams()),
        WorkflowStep(POROSITY_V1, PorosityParams(), wiring={"phases": "mask"}),
        WorkflowStep(LABEL_V1, LabelParams()),
        WorkflowStep(PARTICLES_V1, ParticlesParams()),
    ]
    result = run_workflow(steps, {"image": image}, StepContext(voxel_size_um=(2.0, 2.0, 2.0)))
    assert len(result.tables["particles"].rows) == 2
    assert result.steps[3].scalars["porosity"] == pytest.approx(1 - mask.mean())
    assert set(result.arrays) == {"image", "mask", "labels"}
    assert result.voxel_size_um == (2.0, 2.0, 2.0)


def test_workflow_names_the_missing_input():
    with pytest.raises(StepInputError, match="no array named 'labels'"):
        run_workflow([WorkflowStep(PARTICLES_V1, ParticlesParams())], {"image": np.zeros(3)}, CTX)


def test_binning_updates_the_voxel_size_for_later_steps():
    steps = [WorkflowStep(BIN_V1, BinParams(factor=2)), WorkflowStep(OTSU_V1, OtsuParams())]
    result = run_workflow(steps, {"image": noisy_volume((8, 8, 8))}, CTX)
    assert result.voxel_size_um == (2.0, 2.0, 2.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class _NoiseParams(Params):
    amplitude: float = param(1.0, minimum=0.0, maximum=10.0, description="noise")


def _add_noise(ctx, params, inputs):
    image = np.asarray(inputs["image"], np.float32)
    noise = ctx.rng.normal(0.0, params.amplitude, image.shape).astype(np.float32)
    return StepResult(arrays={"image": image + noise})


NOISE_V1 = StepSpec(
    name="test.noise",
    version=1,
    params=_NoiseParams,
    inputs=(Port("image"),),
    outputs=(Port("image"),),
    func=_add_noise,
    description="seeded test step",
    seeded=True,
)


def _replay(seed):
    steps = [
        WorkflowStep(NOISE_V1, _NoiseParams(amplitude=3.0)),
        WorkflowStep(GAUSSIAN_V1, GaussianParams(sigma=1.0)),
        WorkflowStep(OTSU_V1, OtsuParams()),
    ]
    image = (ball_mask((20, 20, 20), [(10, 10, 10)], 6) * 50).astype(np.float32)
    return run_workflow(steps, {"image": image}, CTX, seed=seed)


def test_same_inputs_params_and_seed_replay_to_identical_digests():
    first, second, other = _replay(42), _replay(42), _replay(43)
    digests = [[result_digests(step) for step in run.steps] for run in (first, second, other)]
    assert digests[0] == digests[1]
    assert digests[0][0] != digests[2][0]
    assert digests[0][1]["image"] == array_digest(first.steps[1].arrays["image"])


def test_seeded_steps_need_a_seed():
    with pytest.raises(StepInputError, match="needs a seed"):
        run_workflow([WorkflowStep(NOISE_V1, _NoiseParams())], {"image": np.zeros((2, 2))}, CTX)
    with pytest.raises(StepInputError, match="needs an rng"):
        run_step(NOISE_V1, _NoiseParams(), {"image": np.zeros((2, 2))}, CTX)


def test_table_digests_are_stable():
    mask = ball_mask((12, 12, 12), [(6, 6, 6)], 3)
    one = run_step(POROSITY_V1, PorosityParams(), {"phases": mask}, CTX)
    two = run_step(POROSITY_V1, PorosityParams(), {"phases": mask.copy()}, CTX)
    assert result_digests(one) == result_digests(two)
    assert len(result_digests(one)["phases"]) == 64


def test_environment_is_json_able_and_names_the_packages():
    env = environment()
    json.dumps(env)
    assert set(env["packages"]) >= {"numpy", "scipy", "scikit-image", "h5py"}
    assert env["packages"]["numpy"] == np.__version__
    assert env["hostname"]
