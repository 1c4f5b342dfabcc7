"""The PAdES seal: created certificate, sealing, and every way a copy can fail the check."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from lims.settings import Settings
from reports.certificate import create_default, ensure_certificate, seal_files
from reports.errors import CertificateError
from reports.render import render
from reports.seal import check_seal, load_signer, page_count, seal_pdf
from tests.unit.reports.test_render import dataset

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory) -> tuple[bytes, Settings]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    signer = load_signer(ensure_certificate(settings, NOW), NOW)
    return seal_pdf(render(dataset()), signer, reason="test", location="lab"), settings


@pytest.mark.req("P11-19")
def test_a_sealed_report_checks_out(sealed):
    data, settings = sealed
    check = check_seal(data, seal_files(settings))
    assert check.is_ok, check.problems
    assert "report seal" in check.signer
    assert page_count(data) >= 1


@pytest.mark.req("P11-19")
@pytest.mark.parametrize("where", [0.1, 0.33, 0.5, 0.8, 0.9, 0.95, -40])
def test_one_flipped_byte_fails_with_a_reason(sealed, where):
    data, settings = sealed
    copy = bytearray(data)
    index = int(len(copy) * where) if where > 0 else len(copy) + int(where)
    copy[index] ^= 0x01
    check = check_seal(bytes(copy), seal_files(settings))
    assert not check.is_ok
    assert check.problems
    assert all(isinstance(p, str) and len(p) > 10 for p in check.problems)


@pytest.mark.req("P11-19")
def test_no_single_flipped_byte_anywhere_goes_unnoticed(sealed):
    data, settings = sealed
    files = seal_files(settings)
    missed = []
    for index in range(0, len(data), max(1, len(data) // 300)):
        copy = bytearray(data)
        copy[index] ^= 0x01
        if check_seal(bytes(copy), files).is_ok:
            missed.append(index)
    assert missed == []


@pytest.mark.req("P11-19")
def test_bytes_appended_after_the_seal_are_reported(sealed):
    data, settings = sealed
    check = check_seal(data + b"\n% appended\n", seal_files(settings))
    assert check.problems == (
        "the seal does not cover the whole file (bytes were added or changed after it)",
    )


def test_an_unsealed_pdf_and_a_non_pdf(sealed):
    _, settings = sealed
    assert check_seal(render(dataset()), seal_files(settings)).problems == (
        "the file carries no seal (no PDF signature)",
    )
    assert "not a readable PDF" in check_seal(b"hello", seal_files(settings)).problems[0]


@pytest.mark.req("P11-19")
def test_a_seal_from_another_institution_is_not_trusted(sealed, tmp_path):
    data, _ = sealed
    other = Settings(data_dir=tmp_path)
    ensure_certificate(other, NOW)
    problems = check_seal(data, seal_files(other)).problems
    assert problems == ("the seal's certificate does not chain to the trusted root",)


def test_default_certificate_key_is_encrypted_and_private(sealed):
    _, settings = sealed
    files = seal_files(settings)
    pem = files.key.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, password=None)
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.passphrase_file.stat().st_mode) == 0o600


@pytest.mark.req("P11-19")
def test_expired_and_not_yet_valid_certificates_are_refused(tmp_path):
    settings = Settings(data_dir=tmp_path)
    files = seal_files(settings)
    create_default(files, "Lab", NOW - dt.timedelta(days=365 * 6))
    with pytest.raises(CertificateError, match="expired on"):
        load_signer(files, NOW)
    with pytest.raises(CertificateError, match="valid only from"):
        load_signer(files, NOW - dt.timedelta(days=365 * 7))


def test_configured_files_are_never_created(tmp_path):
    settings = Settings(
        data_dir=tmp_path, report_cert=tmp_path / "c.pem", report_key=tmp_path / "k.pem"
    )
    with pytest.raises(CertificateError, match=r"c\.pem is missing"):
        ensure_certificate(settings, NOW)
    assert list(tmp_path.iterdir()) == []


def test_wrong_passphrase(tmp_path):
    settings = Settings(data_dir=tmp_path)
    files = ensure_certificate(settings, NOW)
    wrong = dataclasses.replace(files, passphrase=b"nope")
    with pytest.raises(CertificateError, match="cannot read the seal key"):
        load_signer(wrong, NOW)


def test_not_a_certificate(tmp_path):
    settings = Settings(data_dir=tmp_path)
    files = ensure_certificate(settings, NOW)
    files.certificate.write_text("garbage")
    with pytest.raises(CertificateError, match="not a PEM certificate"):
        load_signer(files, NOW)


def test_missing_trust_root_is_reported(sealed, tmp_path):
    data, settings = sealed
    files = dataclasses.replace(seal_files(settings), trust_root=Path(tmp_path / "none.crt"))
    with pytest.raises(CertificateError, match=r"trusted root certificate .* is missing"):
        check_seal(data, files)


@pytest.mark.req("P11-19")
def test_pyhanko_command_line_validator_accepts_the_seal_and_refuses_a_flipped_byte(
    sealed, tmp_path
):
    data, settings = sealed
    root = str(seal_files(settings).trust_root)
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(data)
    copy = bytearray(data)
    copy[len(copy) // 3] ^= 0x01
    bad.write_bytes(bytes(copy))
    command = [
        str(Path(sys.executable).parent / "pyhanko"),
        "sign",
        "validate",
        "--no-revocation-check",
        "--trust",
        root,
        "--executive-summary",
    ]
    accepted = subprocess.run([*command, str(good)], capture_output=True, text=True, check=False)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "VALID" in accepted.stdout
    refused = subprocess.run([*command, str(bad)], capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "INVALID" in refused.stdout + refused.stderr


def test_sealing_and_checking_work_inside_a_running_event_loop(sealed):
    data, settings = sealed

    async def inside() -> bool:
        signer = load_signer(seal_files(settings), NOW)
        resealed = seal_pdf(render(dataset()), signer, reason="test", location="lab")
        return (
            check_seal(resealed, seal_files(settings)).is_ok
            and check_seal(data, seal_files(settings)).is_ok
        )

    assert asyncio.run(inside())
