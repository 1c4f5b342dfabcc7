"""MRC / CCP4 (cryo-EM maps, tomograms, image stacks) via mrcfile, memory-mapped."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mrcfile
import numpy as np
from numpy.typing import NDArray

from lims.formats._common import READ_ERRORS, PlaneSource, make_info, plain, read_head
from lims.formats.base import FormatError, SourceImage

_ANGSTROM_UM = 1e-4
_HEADER_KEYS = ("nx", "ny", "nz", "mode", "mx", "my", "mz", "ispg", "nversion", "mapc", "mapr",
                "maps", "dmin", "dmax", "dmean", "rms", "nsymbt")  # fmt: skip


class MrcReader:
    """MRC2014 files (.mrc, .map, .rec, .st, .ali); headers validated strictly."""

    name = "mrc"
    extensions = (".mrc", ".mrcs", ".map", ".rec", ".st", ".ali", ".ccp4")

    def sniff(self, files: Sequence[Path]) -> bool:
        """True for one file with the ``MAP `` tag at byte 208."""
        return len(files) == 1 and read_head(files[0], 4, 208) == b"MAP "

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open an MRC file (permissive=False: a malformed header is refused).

        Raises:
            FormatError: bad header, size mismatch, unsupported mode (e.g. complex).
        """
        if len(files) != 1:
            raise FormatError("an MRC image is a single file")
        path = files[0]
        label = path.name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                mrc = mrcfile.mmap(path, mode="r", permissive=False)
            except READ_ERRORS as exc:
                raise FormatError(f"{label}: invalid MRC file ({exc})") from exc
        with contextlib.ExitStack() as on_error:
            on_error.callback(mrc.close)
            header = mrc.header
            meta: dict[str, Any] = {k: plain(header[k]) for k in _HEADER_KEYS}
            meta["labels"] = [t for t in (plain(v) for v in header.label[: int(header.nlabl)]) if t]
            meta["origin"] = [float(header.origin[k]) for k in ("x", "y", "z")]
            meta["exttyp"] = plain(header.exttyp)
            meta["kind"] = "image stack" if mrc.is_image_stack() else "volume"
            if caught:
                meta["warnings"] = [str(w.message) for w in caught]
            data = mrc.data
            if data is None:
                raise FormatError(f"{label}: MRC file has no data")
            if data.dtype.kind not in "uif":
                raise FormatError(f"{label}: unsupported dtype {data.dtype} (mode {header.mode})")
            size = mrc.voxel_size
            voxel = [float(size[k]) * _ANGSTROM_UM for k in ("z", "y", "x")]
            if (int(header.mapc), int(header.mapr), int(header.maps)) != (1, 2, 3):
                meta["voxel_size_ignored"] = "axis order mapc/mapr/maps is not 1/2/3"
                voxel = []
            shape = data.shape[1:] if data.ndim == 3 and data.shape[0] == 1 else data.shape  # noqa: PLR2004
            info = make_info(
                label,
                shape=shape,
                dtype=data.dtype,
                voxel_size=(voxel[-len(shape) :] if voxel and any(voxel) else None),
                format_name="mrc",
                metadata=meta,
            )
            on_error.pop_all()
        del data  # no view may outlive close()

        def read(start: int, stop: int) -> NDArray[Any]:
            return np.array(mrc.data.reshape(shape)[start:stop])

        return PlaneSource(info, read, label, close=mrc.close)
