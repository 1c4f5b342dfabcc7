"""Audit trail use cases: verify the chain, write and export checkpoints, review events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.checkpoints import Checkpoint, parse_note, stored_checkpoints, write_checkpoint
from audit.keys import load_or_create_private_key
from audit.verify import ChainReport, verify_chain
from lims.db.uow import UnitOfWork
from lims.settings import Settings


def trusted_public_keys(settings: Settings) -> list[Ed25519PublicKey]:
    """The public half of the configured checkpoint key."""
    return [load_or_create_private_key(settings.audit_key_path).public_key()]


def checkpoint_now(uow: UnitOfWork, settings: Settings) -> Checkpoint | None:
    """Sign the chain head, store it, commit, and file the note in the checkpoint folder."""
    checkpoint = write_checkpoint(uow.session, load_or_create_private_key(settings.audit_key_path))
    uow.commit()
    if checkpoint is not None:
        folder = settings.checkpoint_path
        folder.mkdir(parents=True, exist_ok=True)
        name = f"checkpoint-{checkpoint.size:012d}-{checkpoint.time[:19].replace(':', '')}.txt"
        (folder / name).write_text(checkpoint.note(), encoding="utf-8")
    return checkpoint


def read_checkpoint_files(paths: Sequence[Path]) -> list[Checkpoint]:
    """Parse checkpoint notes kept outside the database (files or folders of them)."""
    notes: list[Checkpoint] = []
    for path in paths:
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        notes.extend(parse_note(file.read_text(encoding="utf-8")) for file in files)
    return notes


def verify_audit_trail(
    uow: UnitOfWork,
    settings: Settings,
    *,
    external: Sequence[Checkpoint] = (),
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Verify the chain against the stored checkpoints and any kept outside the database."""
    session = uow.session
    checkpoints = [*stored_checkpoints(session), *external]
    return verify_chain(
        session,
        checkpoints=checkpoints,
        public_keys=trusted_public_keys(settings),
        progress=progress,
    )
