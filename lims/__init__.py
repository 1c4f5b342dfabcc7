"""ctvault core: domain, storage, formats and the web app on top (imports nothing here)."""

__version__ = "0.1.0"
