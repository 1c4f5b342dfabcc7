"""Report fixtures: a prepared dataset version, an in-process worker, PDF text and seal checks."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from audit.models import AuditEvent
from lims.models import DatasetVersion, Report
from lims.services.context import ServiceContext
from lims.services.ingest import IngestTarget, ingest_path
from lims.settings import Settings
from reports.certificate import seal_files
from tests.factories import make_sample
from tests.integration.web.conftest import app, client, logged_in  # noqa: F401 - fixtures


def volume(seed: int = 5, shape: tuple[int, int, int] = (12, 40, 48)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.integers(100, 200, size=shape, dtype=np.uint16)
    data[:, 10:30, 12:36] += 600
    return data


@pytest.fixture
def ingest(
    ctx: ServiceContext, worker: SimpleWorker, tmp_path: Path
) -> Callable[..., DatasetVersion]:
    """Ingest a TIFF stack into Battery / Cell 7 and (by default) let the worker prepare it."""
    made: list[bool] = []

    def run(name: str = "scan", *, prepare: bool = True, seed: int = 5) -> DatasetVersion:
        if not made:
            make_sample(ctx, "Battery", "Cell 7")
            made.append(True)
        folder = tmp_path / f"{name}-{seed}"
        folder.mkdir()
        for z, plane in enumerate(volume(seed)):
            tifffile.imwrite(folder / f"slice_{z:03d}.tif", plane)
        version = ingest_path(
            ctx, IngestTarget("Battery", "Cell 7", name), folder, reason="acquired"
        )
        if prepare:
            worker.work(burst=True)
            ctx.uow.session.expire_all()
        return version

    return run


def pdf_pages(data: bytes) -> list[str]:
    """The extracted text of every page."""
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    """All extracted text with line breaks and hyphen-free joins, for field comparisons."""
    return "\n".join(pdf_pages(data))


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """Each font used on any page, and whether its program is embedded."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        resources = page["/Resources"]
        for reference in resources.get("/Font", {}).values():
            font = reference.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            fonts[str(font["/BaseFont"])] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return fonts


def validate_seal(data: bytes, settings: Settings) -> PdfSignatureStatus:
    """pyHanko's own validator, trusting only the institution's root."""
    root = load_cert_from_pemder(str(seal_files(settings).trust_root))
    reader = PdfFileReader(io.BytesIO(data))
    (signature,) = reader.embedded_signatures
    return validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))


def stored_pdf(ctx: ServiceContext, report: Report) -> bytes:
    with ctx.blobstore.open(report.blob_sha256) as handle:
        return handle.read()


def events(ctx: ServiceContext, action: str) -> list[AuditEvent]:
    return list(
        ctx.uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


ADMIN_PASSWORD = "first admin password"


@pytest.fixture
def cli_env(
    fresh_database_url: str, redis_url: str, tmp_path: Path, worker_id: str
) -> dict[str, str]:
    """The environment of ``ctvault`` processes on a fresh database and a clean Redis index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTVAULT_")}
    if redis_url.startswith("redis://"):
        index = 6 + (0 if worker_id == "master" else int(worker_id.removeprefix("gw")) % 2)
        redis_url = redis_url.rsplit("/", 1)[0] + f"/{index}"
    Redis.from_url(redis_url).flushdb()
    env.update(
        DATABASE_URL=fresh_database_url,
        REDIS_URL=redis_url,
        CTVAULT_DATA_DIR=str(tmp_path / "data"),
        CTVAULT_ADMIN_PASSWORD=ADMIN_PASSWORD,
        CTVAULT_LAB_NAME="Imaging Core Lab",
    )
    return env
