"""Roles and permissions: the one table that says who may do what (pure, no I/O)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a person is to ctvault, globally or within one project (DESIGN.md)."""

    VIEWER = "viewer"
    MICROSCOPIST = "microscopist"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    """One kind of action, checked on the server for every page, API call and job."""

    CATALOGUE_READ = "catalogue.read"
    DATA_DOWNLOAD = "data.download"
    PROJECT_MANAGE = "project.manage"
    SAMPLE_WRITE = "sample.write"
    DATA_WRITE = "data.write"
    NOTE_WRITE = "note.write"
    AUDIT_REVIEW = "audit.review"
    USER_MANAGE = "user.manage"
    WORKFLOW_SUBMIT = "workflow.submit"
    RUN_REPLAY = "run.replay"
    ANALYSIS_WRITE = "analysis.write"
    ANALYSIS_REVIEW = "analysis.review"
    ANALYSIS_APPROVE = "analysis.approve"
    DATA_VERIFY = "data.verify"


_READ = {Permission.CATALOGUE_READ}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset(_READ),
    Role.MICROSCOPIST: frozenset(
        {
            *_READ,
            Permission.DATA_DOWNLOAD,
            Permission.SAMPLE_WRITE,
            Permission.DATA_WRITE,
            Permission.NOTE_WRITE,
            Permission.WORKFLOW_SUBMIT,
            Permission.RUN_REPLAY,
            Permission.ANALYSIS_WRITE,
            Permission.DATA_VERIFY,
        }
    ),
    Role.REVIEWER: frozenset(
        {
            *_READ,
            Permission.DATA_DOWNLOAD,
            Permission.NOTE_WRITE,
            Permission.AUDIT_REVIEW,
            Permission.RUN_REPLAY,
            Permission.ANALYSIS_REVIEW,
            Permission.ANALYSIS_APPROVE,
            Permission.DATA_VERIFY,
        }
    ),
    Role.AUDITOR: frozenset(
        {*_READ, Permission.DATA_DOWNLOAD, Permission.AUDIT_REVIEW, Permission.RUN_REPLAY}
    ),
    # An administrator manages people and projects but alters no record and signs for nobody.
    Role.ADMIN: frozenset(
        {
            *_READ,
            Permission.PROJECT_MANAGE,
            Permission.USER_MANAGE,
            Permission.AUDIT_REVIEW,
        }
    ),
}

# Permissions that only make sense for the whole system, never within one project.
GLOBAL_ONLY = frozenset({Permission.USER_MANAGE, Permission.PROJECT_MANAGE})


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    """Every permission any of the roles grants."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def parse_role(name: str) -> Role:
    """A role by name; ValueError naming the valid ones otherwise."""
    try:
        return Role(name.strip().lower())
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {name!r}; valid roles: {valid}") from None
