"""Streaming value statistics of an image: min, max and a 256-bin histogram over [min, max]."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

BINS = 256
# bincount casts to intp (8 bytes an element): feed it bounded batches.
_BATCH = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class ValueStats:
    """Min, max and histogram of an image's values.

    ``histogram`` has 256 bins over [min, max]: ``np.histogram(values.astype(float64),
    bins=256, range=(min, max))`` (the last bin includes max); when min == max every value
    is in bin 128, the centre of numpy's min ± 0.5 range; a range too wide for float64
    (max - min overflows) is binned with every value halved. NaN and ±inf are left out of all
    three; ``minimum``/``maximum`` are None when no finite value exists.
    """

    minimum: float | int | None
    maximum: float | int | None
    histogram: tuple[int, ...]


class StatsAccumulator:
    """Accumulates :class:`ValueStats` over consecutive blocks of one image.

    Integers of at most 16 bits are counted exactly per value in one pass. Other dtypes
    collect min/max in :meth:`update` and need a second pass (:meth:`update_histogram`
    over the same blocks) once :attr:`needs_second_pass` is True.
    """

    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.dtype = np.dtype(dtype)
        self._exact = self.dtype.kind in "biu" and self.dtype.itemsize <= 2  # noqa: PLR2004
        self._counts = np.zeros(2 ** (8 * self.dtype.itemsize), np.int64) if self._exact else None
        self._min: Any = None
        self._max: Any = None
        self._hist = np.zeros(BINS, np.int64)

    @property
    def needs_second_pass(self) -> bool:
        """True when the histogram needs :meth:`update_histogram` over every block again."""
        return not self._exact and self._min is not None

    def update(self, block: NDArray[Any]) -> None:
        """First pass: count values (small integers) or track the finite min and max."""
        flat = np.asarray(block, dtype=self.dtype.newbyteorder("=")).reshape(-1)
        if self._counts is not None:
            for i in range(0, flat.size, _BATCH):
                self._counts += np.bincount(
                    _as_index(flat[i : i + _BATCH]), minlength=len(self._counts)
                )
            return
        if flat.dtype.kind == "f" and not np.isfinite(flat).all():
            flat = flat[np.isfinite(flat)]
        if flat.size == 0:
            return
        low, high = flat.min(), flat.max()
        self._min = low if self._min is None else min(self._min, low)
        self._max = high if self._max is None else max(self._max, high)

    def update_histogram(self, block: NDArray[Any]) -> None:
        """Second pass (only when :attr:`needs_second_pass`): bin the block over [min, max]."""
        if not self.needs_second_pass:
            return
        flat = np.asarray(block).reshape(-1)
        if self._min == self._max:
            self._hist[BINS // 2] += int(np.count_nonzero(flat == self._min))
            return
        low, high = float(self._min), float(self._max)
        # A range wider than float64 holds (max - min overflows) is binned at half scale.
        scale = 1.0 if math.isfinite(high - low) else 0.5
        for i in range(0, flat.size, _BATCH):
            batch = flat[i : i + _BATCH].astype(np.float64)
            if scale != 1.0:
                batch *= scale
            counts, _ = np.histogram(batch, bins=BINS, range=(low * scale, high * scale))
            self._hist += counts

    def result(self) -> ValueStats:
        """The statistics of every block seen."""
        if self._counts is not None:
            return self._exact_result(self._counts)
        if self._min is None:
            return ValueStats(None, None, (0,) * BINS)
        return ValueStats(_py(self._min), _py(self._max), tuple(int(c) for c in self._hist))

    def _exact_result(self, counts: NDArray[np.int64]) -> ValueStats:
        present = np.flatnonzero(counts)
        if present.size == 0:
            return ValueStats(None, None, (0,) * BINS)
        offset = 2 ** (8 * self.dtype.itemsize - 1) if self.dtype.kind == "i" else 0
        values = present.astype(np.int64) - offset
        low, high = int(values[0]), int(values[-1])
        if low == high:
            return ValueStats(
                low,
                high,
                tuple(int(counts[present[0]]) if i == BINS // 2 else 0 for i in range(BINS)),
            )
        hist, _ = np.histogram(values, bins=BINS, range=(low, high), weights=counts[present])
        return ValueStats(low, high, tuple(round(float(c)) for c in hist))


def _as_index(values: NDArray[Any]) -> NDArray[Any]:
    """Map ≤16-bit integers to 0..2**bits-1 in value order (signed: flip the sign bit)."""
    if values.dtype.kind == "b":
        return values.view(np.uint8)
    unsigned: NDArray[Any] = values.view(f"u{values.dtype.itemsize}")
    if values.dtype.kind == "i":
        sign = np.array(1 << (8 * values.dtype.itemsize - 1), unsigned.dtype)
        flipped: NDArray[Any] = np.bitwise_xor(unsigned, sign)
        return flipped
    return unsigned


def _py(value: Any) -> float | int:  # noqa: ANN401
    return value.item() if isinstance(value, np.generic) else value  # type: ignore[no-any-return]
