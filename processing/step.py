"""What a processing step is: its spec, parameters, ports, execution context and result.

A step is data plus a pure function (STYLE §4.6): :class:`StepSpec` holds its lowercase
``family.name``, integer version (never reused), :class:`Params` subclass (fields declared
with :func:`param`: unit, bounds, description; validated on construction; stored as
canonical JSON), ports (:class:`Port`) and function. Arrays are array-likes
(numpy, memmap, h5py) so steps can work on volumes larger than memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import re
import typing
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Generic, Self, TypeVar

import numpy as np

from lims.errors import UserError
from processing.chunked import Allocator, ArraySource, allocate_in_memory

Scalar = int | float | str | bool
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_TYPES: dict[Any, str] = {int: "integer", float: "number", bool: "boolean", str: "string"}


class ParameterError(UserError):
    """A parameter is missing, unknown, of the wrong type or out of bounds; nothing ran."""


class StepInputError(UserError):
    """An input array does not fit the step's declared ports; nothing ran."""


class PortKind(StrEnum):
    """What flows through a port."""

    ARRAY = "array"
    LABEL = "label"
    TABLE = "table"


@dataclasses.dataclass(frozen=True, slots=True)
class Port:
    """A named input or output of a step with its constraints.

    Attributes:
        name: Port name; a workflow wires ports by this name.
        kind: Image (``array``), label image or mask (``label``) or result ``table``.
        ndims: Accepted numbers of dimensions (arrays only).
        dtype_kinds: Accepted numpy ``dtype.kind`` letters, e.g. ``"buif"``.
        unit: Unit of the values (``""`` for none, ``"label"`` for label images).
        description: One line for forms and reports.
    """

    name: str
    kind: PortKind = PortKind.ARRAY
    ndims: frozenset[int] = frozenset({2, 3})
    dtype_kinds: str = "buif"
    unit: str = ""
    description: str = ""


def param(
    default: Any = dataclasses.MISSING,  # noqa: ANN401 - any parameter type
    *,
    description: str,
    unit: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:  # noqa: ANN401 - a dataclass field poses as its value
    """Declare a parameter field (use inside a :class:`Params` subclass).

    Args:
        default: Default value; omit for a required parameter.
        description: One line shown in forms and reports.
        unit: Unit of the value (``"voxel"``, ``"µm"``, ``""``).
        minimum: Inclusive lower bound (numbers only).
        maximum: Inclusive upper bound (numbers only).
        choices: Allowed values (strings only).
    """
    meta = {"unit": unit, "min": minimum, "max": maximum, "description": description}
    return dataclasses.field(default=default, metadata={**meta, "choices": choices})


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Params:
    """Base of every step's parameters: a frozen dataclass validated on construction.

    Subclasses declare fields with :func:`param` and types ``int``, ``float``, ``bool`` or
    ``str``, and may override :meth:`check` for rules spanning several fields.
    """

    def __post_init__(self) -> None:
        types = _field_types(type(self))
        for field in dataclasses.fields(self):
            value = _coerce(field.name, types[field.name], getattr(self, field.name))
            _check_bounds(field, value)
            object.__setattr__(self, field.name, value)
        self.check()

    def check(self) -> None:
        """Cross-field rules; raise :class:`ParameterError` naming the field."""

    def to_dict(self) -> dict[str, Scalar]:
        """The parameter values by name, sorted."""
        return {name: getattr(self, name) for name in sorted(_field_types(type(self)))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a mapping (e.g. a stored configuration); unknown names are refused.

        Raises:
            ParameterError: unknown or missing names, wrong types, values out of bounds.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParameterError(f"{cls.__name__}: unknown parameter(s) {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:  # a required parameter is missing
            raise ParameterError(f"{cls.__name__}: {exc}") from exc

    @classmethod
    def schema(cls) -> list[dict[str, Any]]:
        """JSON-able description of each parameter, for building forms."""
        types = _field_types(cls)
        out = []
        for field in dataclasses.fields(cls):
            has_default = field.default is not dataclasses.MISSING
            entry = {"name": field.name, "type": _TYPES[types[field.name]], **field.metadata}
            entry["choices"] = list(entry["choices"]) if entry["choices"] else None
            entry["default"] = field.default if has_default else None
            out.append({**entry, "required": not has_default})
        return out


def _coerce(name: str, kind: object, value: object) -> Scalar:
    if kind not in _TYPES:
        raise TypeError(f"parameter {name}: unsupported type {kind!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)  # 1 and 1.0 must encode alike
    if type(value) is not kind:
        raise ParameterError(f"parameter {name} must be {_TYPES[kind]}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParameterError(f"parameter {name} must be finite, got {value!r}")
    return typing.cast("Scalar", value)


def _check_bounds(field: dataclasses.Field[Any], value: Scalar) -> None:
    meta, unit = field.metadata, field.metadata.get("unit", "")
    suffix = f" {unit}" if unit else ""
    low, high, choices = meta.get("min"), meta.get("max"), meta.get("choices")
    if low is not None and value < low:
        raise ParameterError(f"parameter {field.name} = {value}{suffix} is below {low}{suffix}")
    if high is not None and value > high:
        raise ParameterError(f"parameter {field.name} = {value}{suffix} is above {high}{suffix}")
    if choices is not None and value not in choices:
        raise ParameterError(f"parameter {field.name} = {value!r} is not one of {list(choices)}")


def _no_progress(fraction: float, message: str) -> None:
    """Progress sink that ignores reports."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepContext:
    """What the runner gives a step besides parameters and inputs.

    Attributes:
        voxel_size_um: Voxel size in µm, (z, y, x) for volumes; 2D images use the last two.
            It comes from the input dataset version's canonical array attributes.
        memory_budget_bytes: Working memory a step may use for one chunk.
        rng: Random generator, supplied (and its seed recorded) only for seeded steps.
        progress: Called with (fraction done, message).
        logger: Where the step logs.
        allocate: Creates output arrays (numpy by default; a worker may give HDF5/memmap).
    """

    voxel_size_um: tuple[float, ...] = (1.0, 1.0, 1.0)
    memory_budget_bytes: int = 512 * 1024 * 1024
    rng: np.random.Generator | None = None
    progress: Callable[[float, str], None] = _no_progress
    logger: logging.Logger = dataclasses.field(
        default_factory=lambda: logging.getLogger("processing.step")
    )
    allocate: Allocator = allocate_in_memory

    def spacing(self, ndim: int) -> tuple[float, ...]:
        """Voxel size in µm for an ``ndim``-dimensional image (trailing axes)."""
        if len(self.voxel_size_um) < ndim:
            raise StepInputError(f"voxel size {self.voxel_size_um} has fewer than {ndim} axes")
        return tuple(float(v) for v in self.voxel_size_um[-ndim:])


@dataclasses.dataclass(frozen=True, slots=True)
class Table:
    """A result table: column names, their units, and rows of plain values."""

    columns: tuple[str, ...]
    units: Mapping[str, str]
    rows: tuple[Mapping[str, Scalar], ...]

    def sha256(self) -> str:
        """SHA-256 of the canonical JSON of columns, units and rows."""
        body = {"columns": list(self.columns), "units": dict(self.units), "rows": self.rows}
        return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """Outputs of one step execution.

    Attributes:
        arrays: Output arrays (images and label images) by port name.
        tables: Output tables by port name.
        scalars: Scalar results (thresholds, counts, fractions) by name.
        scalar_units: Unit of each scalar that has one.
        voxel_size_um: New voxel size of the output arrays when the step changes it.
    """

    arrays: Mapping[str, ArraySource] = dataclasses.field(default_factory=dict)
    tables: Mapping[str, Table] = dataclasses.field(default_factory=dict)
    scalars: Mapping[str, Scalar] = dataclasses.field(default_factory=dict)
    scalar_units: Mapping[str, str] = dataclasses.field(default_factory=dict)
    voxel_size_um: tuple[float, ...] | None = None


P = TypeVar("P", bound=Params)
StepFunc = Callable[[StepContext, P, Mapping[str, ArraySource]], StepResult]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StepSpec(Generic[P]):
    """One version of one processing step. Any change to outputs is a new version."""

    name: str
    version: int
    params: type[P]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    func: StepFunc[P]
    description: str
    seeded: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"step name {self.name!r} is not lowercase 'family.name'")
        if self.version < 1:
            raise ValueError(f"step {self.name}: version must be >= 1")
        for ports in (self.inputs, self.outputs):
            names = [p.name for p in ports]
            if len(set(names)) != len(names):
                raise ValueError(f"step {self.name}: duplicate port names {names}")

    @property
    def key(self) -> tuple[str, int]:
        """(name, version): the registry key."""
        return (self.name, self.version)

    def parse_params(self, configuration: Mapping[str, Any]) -> P:
        """Parameters from a stored configuration mapping."""
        return self.params.from_dict(configuration)

    def canonical_parameters(self, params: P) -> bytes:
        """``{"name", "version", "configuration"}`` as sorted, whitespace-free JSON."""
        if not isinstance(params, self.params):
            raise ParameterError(f"step {self.name} expects {self.params.__name__}")
        body = {"name": self.name, "version": self.version, "configuration": params.to_dict()}
        return canonical_json(body)

    def parameters_sha256(self, params: P) -> str:
        """SHA-256 (hex) of :meth:`canonical_parameters`."""
        return hashlib.sha256(self.canonical_parameters(params)).hexdigest()


def canonical_json(value: object) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, UTF-8, no NaN."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")
