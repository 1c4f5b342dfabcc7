"""Settings: environment variables, the TOML config file, one error listing every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from lims.errors import ConfigurationError, UserError
from lims.settings import CONFIG_FILE_ENV, Settings, documentation


def test_defaults_without_any_configuration() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.data_dir == Path("ctvault-data")
    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.is_embedded
    assert settings.port == 8470
    assert settings.host == "127.0.0.1"
    assert settings.admin_username == "admin"
    assert settings.production is False
    assert settings.blob_dir == Path("ctvault-data") / "store"


def test_environment_values_are_converted_to_their_types(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "CTVAULT_DATA_DIR": str(tmp_path / "data"),
            "CTVAULT_STORE_DIR": str(tmp_path / "store"),
            "DATABASE_URL": "postgresql://ctvault@db/ctvault",
            "REDIS_URL": "redis://cache:6379/0",
            "CTVAULT_PORT": "9000",
            "CTVAULT_MAX_UPLOAD_GB": "2.5",
            "CTVAULT_PRODUCTION": "yes",
            "CTVAULT_ADMIN_PASSWORD": "a long enough password",
            "UNRELATED": "ignored",
        }
    )
    assert settings.data_dir == tmp_path / "data"
    assert settings.blob_dir == tmp_path / "store"
    assert settings.database_url == "postgresql://ctvault@db/ctvault"
    assert settings.redis_url == "redis://cache:6379/0"
    assert not settings.is_embedded
    assert settings.port == 9000
    assert settings.max_upload_gb == 2.5
    assert settings.production is True
    assert settings.admin_password == "a long enough password"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("0", False), ("No", False), (" TRUE ", True)],
)
def test_booleans(raw: str, expected: bool) -> None:
    assert Settings.from_env({"CTVAULT_PRODUCTION": raw}).production is expected


def test_empty_variables_count_as_unset() -> None:
    settings = Settings.from_env({"DATABASE_URL": "", "CTVAULT_PORT": ""})
    assert settings.database_url is None
    assert settings.port == 8470


def test_path_values_expand_the_home_folder() -> None:
    settings = Settings.from_env({"CTVAULT_DATA_DIR": "~/ctvault"})
    assert settings.data_dir == Path("~/ctvault").expanduser()


def test_config_file_values_and_environment_precedence(tmp_path: Path) -> None:
    config = tmp_path / "ctvault.toml"
    config.write_text(
        'data_dir = "/srv/ctvault"\nport = 8000\nproduction = true\n'
        'redis_url = "redis://from-file"\n',
        encoding="utf-8",
    )
    settings = Settings.from_env({"REDIS_URL": "redis://from-env"}, config_file=config)
    assert settings.data_dir == Path("/srv/ctvault")
    assert settings.port == 8000
    assert settings.production is True
    assert settings.redis_url == "redis://from-env"


def test_config_file_named_by_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "ctvault.toml"
    config.write_text('admin_username = "root-admin"\n', encoding="utf-8")
    settings = Settings.from_env({CONFIG_FILE_ENV: str(config)})
    assert settings.admin_username == "root-admin"


def test_every_bad_value_is_reported_in_one_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {
                "CTVAULT_PORT": "eighty",
                "CTVAULT_PRODUCTION": "maybe",
                "CTVAULT_INGEST_THREADS": "2.5",
            }
        )
    message = str(caught.value)
    assert "CTVAULT_PORT" in message
    assert "CTVAULT_PRODUCTION" in message
    assert "CTVAULT_INGEST_THREADS" in message
    assert isinstance(caught.value, UserError)  # the CLI prints it as one line


def test_unknown_key_in_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "ctvault.toml"
    config.write_text('port = 8000\ndatabase = "typo"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown setting 'database'"):
        Settings.from_env({"CTVAULT_PORT": "not a port"}, config_file=config)
    with pytest.raises(ConfigurationError, match="CTVAULT_PORT"):
        Settings.from_env({"CTVAULT_PORT": "not a port"}, config_file=config)


@pytest.mark.parametrize("content", ["port = ", "[unclosed"])
def test_unreadable_config_file(tmp_path: Path, content: str) -> None:
    config = tmp_path / "ctvault.toml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot read config file"):
        Settings.from_env({}, config_file=config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read config file"):
        Settings.from_env({}, config_file=tmp_path / "missing.toml")


def test_documentation_covers_every_setting_once() -> None:
    rows = documentation()
    names = [name for name, _default, _doc in rows]
    assert len(names) == len(set(names))
    assert {"DATABASE_URL", "REDIS_URL", "CTVAULT_DATA_DIR", "CTVAULT_PORT"} <= set(names)
    assert all(doc for _name, _default, doc in rows)
    assert ("CTVAULT_PORT", "8470", "Port the web server listens on.") in rows


ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/configuration.md")
TABLE_START = "<!-- settings table: generated by `.venv/bin/python -m tests.unit.test_settings` -->"
TABLE_END = "<!-- end of settings table -->"


def settings_table() -> str:
    """The Markdown table of every setting, as README.md and docs/configuration.md show it."""
    lines = [TABLE_START, "| Variable | Default | Meaning |", "|---|---|---|"]
    for name, default, doc in documentation():
        shown = f"`{default}`" if default else ""
        meaning = doc.replace("|", "\\|")
        lines.append(f"| `{name}` | {shown} | {meaning} |")
    lines.append(TABLE_END)
    return "\n".join(lines)


def _current_table(text: str) -> str:
    start = text.index(TABLE_START)
    return text[start : text.index(TABLE_END, start) + len(TABLE_END)]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_settings_table_is_up_to_date(document: str) -> None:
    text = (ROOT / document).read_text(encoding="utf-8")
    assert TABLE_START in text, f"{document}: the settings table markers are missing"
    assert _current_table(text) == settings_table(), (
        f"{document}: the settings changed; run `.venv/bin/python -m tests.unit.test_settings`"
    )


if __name__ == "__main__":
    for name in DOCUMENTS:
        path = ROOT / name
        content = path.read_text(encoding="utf-8")
        path.write_text(
            content.replace(_current_table(content), settings_table()), encoding="utf-8"
        )
        print(f"updated the settings table in {name}")  # noqa: T201 - a command-line helper
