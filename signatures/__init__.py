"""Electronic signatures: re-authentication, manifest, cryptographic binding, verification."""
