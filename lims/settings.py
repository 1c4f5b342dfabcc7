"""Settings: the one documented place where configuration is read (environment + TOML file)."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lims.errors import ConfigurationError

CONFIG_FILE_ENV = "CTVAULT_CONFIG"


def _setting(env: str, doc: str, default: Any = None) -> Any:  # noqa: ANN401 - dataclass field
    return dataclasses.field(default=default, metadata={"env": env, "doc": doc})


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of ctvault; each field names its environment variable."""

    data_dir: Path = _setting(
        "CTVAULT_DATA_DIR",
        "Folder for the embedded database, Redis, blob store, keys and logs.",
        Path("ctvault-data"),
    )
    database_url: str | None = _setting(
        "DATABASE_URL",
        "PostgreSQL URL (15+). Unset: an embedded PostgreSQL runs inside the data folder.",
    )
    redis_url: str | None = _setting(
        "REDIS_URL", "Redis URL. Unset: an embedded Redis runs inside the data folder."
    )
    store_dir: Path | None = _setting(
        "CTVAULT_STORE_DIR",
        "Blob store folder (a shared file system in production). Default: DATA_DIR/store.",
    )
    secret_key: str | None = _setting(
        "CTVAULT_SECRET_KEY",
        "Key for session and CSRF tokens. Default: generated once into DATA_DIR/secret_key.",
    )
    db_role: str | None = _setting(
        "CTVAULT_DB_ROLE",
        "Role the application switches to after connecting (SET ROLE). It holds no UPDATE,"
        " DELETE or TRUNCATE on records; migrations run as the connecting (owner) role."
        " Empty string: do not switch.",
        "ctvault_app",
    )
    audit_key: Path | None = _setting(
        "CTVAULT_AUDIT_KEY",
        "Ed25519 private key (PEM) that signs audit checkpoints; created if missing."
        " Default: DATA_DIR/keys/audit-checkpoint.pem.",
    )
    checkpoint_dir: Path | None = _setting(
        "CTVAULT_CHECKPOINT_DIR",
        "Folder where every signed audit checkpoint is also written as a text note (keep it"
        " on other, ideally write-once storage). Default: DATA_DIR/checkpoints.",
    )
    checkpoint_interval_min: int = _setting(
        "CTVAULT_CHECKPOINT_INTERVAL_MIN",
        "Minutes between automatic audit checkpoints written by `ctvault serve`/workers.",
        60,
    )
    lab_name: str = _setting(
        "CTVAULT_LAB_NAME", "The laboratory's name, printed on reports and exports.", "ctvault"
    )
    report_logo: Path | None = _setting(
        "CTVAULT_REPORT_LOGO", "PNG or JPEG logo printed in the header of every report."
    )
    report_cert: Path | None = _setting(
        "CTVAULT_REPORT_CERT",
        "The institution's certificate (PEM) that seals reports (PAdES). Unset: a self-signed"
        " CA and seal certificate are created under DATA_DIR/keys/report-seal on first use.",
    )
    report_key: Path | None = _setting(
        "CTVAULT_REPORT_KEY", "Encrypted private key (PKCS#8 PEM) of the report seal certificate."
    )
    report_key_passphrase: str | None = _setting(
        "CTVAULT_REPORT_KEY_PASSPHRASE",
        "Passphrase of the report seal key. Unset: read from DATA_DIR/keys/report-seal/passphrase.",
    )
    report_trust_root: Path | None = _setting(
        "CTVAULT_REPORT_TRUST_ROOT",
        "Root CA certificate (PEM) that report seals must chain to when verified."
        " Default: DATA_DIR/keys/report-seal/root-ca.crt.",
    )
    host: str = _setting("CTVAULT_HOST", "Address the web server listens on.", "127.0.0.1")
    port: int = _setting("CTVAULT_PORT", "Port the web server listens on.", 8470)
    admin_username: str = _setting(
        "CTVAULT_ADMIN_USER", "User name of the first admin, created at first start.", "admin"
    )
    admin_password: str | None = _setting(
        "CTVAULT_ADMIN_PASSWORD",
        "Password of the first admin. Unset: generated and printed once at first start.",
    )
    max_upload_gb: float = _setting(
        "CTVAULT_MAX_UPLOAD_GB", "Largest browser upload accepted, in GB.", 16.0
    )
    ingest_threads: int = _setting(
        "CTVAULT_INGEST_THREADS", "Files hashed and copied at once when ingesting a folder.", 2
    )
    vendor_dir: Path | None = _setting(
        "CTVAULT_VENDOR_DIR",
        "Folder with the npm front-end packages (htmx, OpenSeadragon). Default: ./node_modules"
        " of the source checkout.",
    )
    tile_cache_dir: Path | None = _setting(
        "CTVAULT_TILE_CACHE_DIR",
        "Folder for rendered IIIF tiles (safe to delete). Default: DATA_DIR/tiles.",
    )
    tile_accel_prefix: str | None = _setting(
        "CTVAULT_TILE_ACCEL_PREFIX",
        "Behind nginx: internal location that maps to the tile cache folder; tiles are then"
        " sent with X-Accel-Redirect after the access check. Unset: ctvault sends the bytes.",
    )
    tile_link_secret: str | None = _setting(
        "CTVAULT_TILE_LINK_SECRET",
        "Secret of the signed tile links nginx checks with secure_link (the same value goes"
        " into the nginx configuration). Default: derived from the secret key.",
    )
    tile_link_seconds: int = _setting(
        "CTVAULT_TILE_LINK_SECONDS",
        "Lifetime of a signed tile link (viewers renew theirs); the longest a revoked session"
        " can still load tiles straight from nginx.",
        120,
    )
    production: bool = _setting(
        "CTVAULT_PRODUCTION", "1 behind HTTPS: secure cookies and HSTS.", default=False
    )
    password_min_length: int = _setting(
        "CTVAULT_PASSWORD_MIN_LENGTH", "Shortest local-account password accepted.", 12
    )
    password_history: int = _setting(
        "CTVAULT_PASSWORD_HISTORY", "A new password may not repeat any of the last N.", 5
    )
    password_max_age_days: int = _setting(
        "CTVAULT_PASSWORD_MAX_AGE_DAYS",
        "Days before a local password must be changed (0: never; Part 11 sets no interval).",
        0,
    )
    lockout_threshold: int = _setting(
        "CTVAULT_LOCKOUT_THRESHOLD",
        "Consecutive failed logins or signings that lock an account.",
        5,
    )
    lockout_minutes: int = _setting(
        "CTVAULT_LOCKOUT_MINUTES",
        "Minutes a locked account stays locked (0: until an administrator unlocks it).",
        30,
    )
    session_idle_minutes: int = _setting(
        "CTVAULT_SESSION_IDLE_MINUTES", "Idle minutes after which a session ends.", 15
    )
    session_max_hours: int = _setting(
        "CTVAULT_SESSION_MAX_HOURS", "Hours after which a session ends however active.", 12
    )
    login_attempts_per_minute: int = _setting(
        "CTVAULT_LOGIN_ATTEMPTS_PER_MINUTE",
        "Login attempts allowed per client address a minute.",
        20,
    )
    security_email: str | None = _setting(
        "CTVAULT_SECURITY_EMAIL",
        "Address that receives lockout and security alerts (besides the administrators).",
    )
    smtp_host: str | None = _setting("CTVAULT_SMTP_HOST", "SMTP server for notifications.")
    smtp_port: int = _setting("CTVAULT_SMTP_PORT", "SMTP port.", 25)
    smtp_sender: str = _setting(
        "CTVAULT_SMTP_FROM", "Sender address of notifications.", "ctvault@localhost"
    )
    ldap_url: str | None = _setting(
        "CTVAULT_LDAP_URL", "LDAP server (ldaps:// or ldap:// with StartTLS). Unset: local only."
    )
    ldap_bind_dn: str | None = _setting("CTVAULT_LDAP_BIND_DN", "Service account DN for search.")
    ldap_bind_password: str | None = _setting(
        "CTVAULT_LDAP_BIND_PASSWORD", "Service account password."
    )
    ldap_user_base: str | None = _setting("CTVAULT_LDAP_USER_BASE", "Base DN of user entries.")
    ldap_user_filter: str = _setting(
        "CTVAULT_LDAP_USER_FILTER",
        "Filter that finds one user; {username} is escaped.",
        "(uid={username})",
    )
    ldap_direct_bind_dn: str | None = _setting(
        "CTVAULT_LDAP_DIRECT_BIND_DN",
        "Instead of search-then-bind: bind directly as this DN; {username} is escaped"
        " (e.g. uid={username},ou=people,dc=lab,dc=example).",
    )
    ldap_start_tls: bool = _setting(
        "CTVAULT_LDAP_START_TLS", "1: upgrade ldap:// connections with StartTLS.", default=False
    )
    ldap_ca_file: Path | None = _setting(
        "CTVAULT_LDAP_CA_FILE", "CA certificate (PEM) that signed the directory's certificate."
    )
    ldap_allow_plain: bool = _setting(
        "CTVAULT_LDAP_ALLOW_PLAIN",
        "1: allow ldap:// without StartTLS (tests and labs on a trusted loopback only).",
        default=False,
    )
    ldap_attr_username: str = _setting("CTVAULT_LDAP_ATTR_USERNAME", "User id attribute.", "uid")
    ldap_attr_display_name: str = _setting(
        "CTVAULT_LDAP_ATTR_DISPLAY_NAME", "Printed-name attribute.", "cn"
    )
    ldap_attr_email: str = _setting("CTVAULT_LDAP_ATTR_EMAIL", "E-mail attribute.", "mail")
    ldap_attr_uuid: str = _setting(
        "CTVAULT_LDAP_ATTR_UUID",
        "Immutable entry id (entryUUID for OpenLDAP, objectGUID for Active Directory).",
        "entryUUID",
    )
    ldap_group_base: str | None = _setting(
        "CTVAULT_LDAP_GROUP_BASE", "Base DN of group entries. Unset: no group mapping."
    )
    ldap_group_filter: str = _setting(
        "CTVAULT_LDAP_GROUP_FILTER",
        "Filter for the groups of a user; {user_dn} and {username} are escaped.",
        "(|(member={user_dn})(uniqueMember={user_dn})(memberUid={username}))",
    )
    ldap_role_map: str = _setting(
        "CTVAULT_LDAP_ROLE_MAP",
        "Group-to-role mapping: 'GROUP_CN=role;GROUP_CN=role' with roles viewer,"
        " microscopist, reviewer, auditor, admin (global roles).",
        "",
    )
    ldap_timeout_s: int = _setting(
        "CTVAULT_LDAP_TIMEOUT_S", "Seconds before the directory counts as unreachable.", 5
    )
    ldap_recheck_s: int = _setting(
        "CTVAULT_LDAP_RECHECK_S",
        "Seconds between directory checks that a logged-in user is still enabled.",
        60,
    )

    @property
    def blob_dir(self) -> Path:
        """Where blobs live: the configured store folder or DATA_DIR/store."""
        return self.store_dir if self.store_dir is not None else self.data_dir / "store"

    @property
    def audit_key_path(self) -> Path:
        """The checkpoint signing key file."""
        return self.audit_key or self.data_dir / "keys" / "audit-checkpoint.pem"

    @property
    def checkpoint_path(self) -> Path:
        """The folder that receives exported checkpoint notes."""
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def is_embedded(self) -> bool:
        """True when PostgreSQL or Redis must be started from the data folder."""
        return self.database_url is None or self.redis_url is None

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, config_file: Path | None = None
    ) -> Settings:
        """Build settings from a TOML file (optional) overlaid by environment variables.

        Args:
            environ: the environment; ``os.environ`` when omitted.
            config_file: a TOML file whose keys are field names; ``$CTVAULT_CONFIG`` if unset.

        Raises:
            ConfigurationError: listing every invalid value at once.
        """
        env = dict(os.environ if environ is None else environ)
        raw: dict[str, Any] = {}
        path = config_file or (Path(env[CONFIG_FILE_ENV]) if env.get(CONFIG_FILE_ENV) else None)
        if path is not None:
            try:
                raw.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
        known = {f.name: f for f in dataclasses.fields(cls)}
        errors = [f"unknown setting {key!r} in {path}" for key in raw if key not in known]
        for field in known.values():
            name = field.metadata["env"]
            if name in env and (env[name] != "" or field.name == "db_role"):
                raw[field.name] = env[name]
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key in known:
                try:
                    values[key] = _convert(known[key], value)
                except ValueError as exc:
                    errors.append(f"{known[key].metadata['env']}: {exc}")
        if errors:
            raise ConfigurationError("invalid configuration: " + "; ".join(errors))
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:  # noqa: ANN401 - mirrors dataclasses.replace
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def _convert(field: dataclasses.Field[Any], value: object) -> object:
    kind = str(field.type)
    if isinstance(value, str):
        if "Path" in kind:
            return Path(value).expanduser()
        if kind == "bool":
            lowered = value.strip().lower()
            if lowered not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(f"expected 1/0/true/false, got {value!r}")
            return lowered in {"1", "true", "yes"}
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    return value


def documentation() -> list[tuple[str, str, str]]:
    """Return (variable, default, description) for every setting, for the README table."""
    rows = []
    for field in dataclasses.fields(Settings):
        default = "" if field.default is None else str(field.default)
        rows.append((field.metadata["env"], default, field.metadata["doc"]))
    return rows
