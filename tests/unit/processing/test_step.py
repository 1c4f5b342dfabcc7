from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pytest

from lims.errors import UserError
from processing.step import ParameterError, Params, Port, StepResult, StepSpec, param
from processing.steps.filters.gaussian_v1 import GAUSSIAN_V1, GaussianParams
from processing.steps.roi.crop_v1 import CropParams
from processing.steps.segmentation.otsu_v1 import OtsuParams


def test_parameter_error_is_a_user_error_naming_the_field():
    with pytest.raises(ParameterError, match="sigma") as info:
        GaussianParams(sigma=500.0)
    assert isinstance(info.value, UserError)
    assert "above 50.0 voxel" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": "1"}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": True}, "sigma"),
    ],
)
def test_gaussian_parameter_violations(kwargs, field):
    with pytest.raises(ParameterError, match=field):
        GaussianParams(**kwargs)


def test_choices_and_cross_field_rules():
    with pytest.raises(ParameterError, match="foreground"):
        OtsuParams(foreground="sideways")
    bounds = {"z_start": 0, "z_stop": 4, "y_start": 5, "y_stop": 5, "x_start": 0, "x_stop": 3}
    with pytest.raises(ParameterError, match="y_stop"):
        CropParams(**bounds)


def test_from_dict_refuses_unknown_and_missing_names():
    with pytest.raises(ParameterError, match="radius"):
        GaussianParams.from_dict({"sigma": 1.0, "radius": 2})
    with pytest.raises(ParameterError, match="z_start"):
        CropParams.from_dict({"z_stop": 1})


def test_int_given_for_float_encodes_like_the_float():
    assert GaussianParams(sigma=2).to_dict() == {"sigma": 2.0}
    a = GAUSSIAN_V1.canonical_parameters(GaussianParams.from_dict({"sigma": 2}))
    b = GAUSSIAN_V1.canonical_parameters(GaussianParams(sigma=2.0))
    assert a == b == b'{"configuration":{"sigma":2.0},"name":"filter.gaussian","version":1}'
    assert GAUSSIAN_V1.parameters_sha256(GaussianParams(sigma=2.0)) == hashlib.sha256(a).hexdigest()


def test_round_trip_through_canonical_json():
    params = OtsuParams(bins=128, foreground="below")
    body = json.loads(GAUSSIAN_V1.canonical_parameters(GaussianParams()))
    assert body["configuration"] == {"sigma": 1.0}
    assert OtsuParams.from_dict(params.to_dict()) == params


def test_schema_is_json_able_form_description():
    schema = {entry["name"]: entry for entry in CropParams.schema() + OtsuParams.schema()}
    json.dumps(schema)
    assert schema["z_start"]["required"] is True
    assert schema["z_start"]["unit"] == "voxel"
    assert schema["z_start"]["type"] == "integer"
    assert schema["bins"] == {
        "name": "bins",
        "type": "integer",
        "unit": "",
        "min": 2,
        "max": 65536,
        "choices": None,
        "default": 256,
        "required": False,
        "description": "Histogram bins",
    }
    assert schema["foreground"]["choices"] == ["above", "below"]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Empty(Params):
    unused: int = param(0, description="unused")


def _noop(ctx, params, inputs):
    return StepResult()


@pytest.mark.parametrize("name", ["Filter.gaussian", "gaussian", "filter.gauss-ian", "a.b.c"])
def test_step_names_are_lowercase_family_dot_name(name):
    with pytest.raises(ValueError, match=r"family\.name"):
        StepSpec(
            name=name, version=1, params=_Empty, inputs=(), outputs=(), func=_noop, description="x"
        )


def test_versions_start_at_one_and_ports_are_unique():
    with pytest.raises(ValueError, match="version"):
        StepSpec(
            name="a.b", version=0, params=_Empty, inputs=(), outputs=(), func=_noop, description="x"
        )
    with pytest.raises(ValueError, match="duplicate"):
        StepSpec(
            name="a.b",
            version=1,
            params=_Empty,
            inputs=(Port("x"), Port("x")),
            outputs=(),
            func=_noop,
            description="x",
        )
