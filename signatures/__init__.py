"""Electronic signatures: re-authentication, manifest, cryptographic binding, verification.

Modules: ``content`` (canonical content digests), ``manifest`` (the signed statement),
``keys`` (Ed25519 keys, encrypted at rest, rotation, export), ``registry`` (which record
types can be signed and how their content is read), ``records`` (the built-in record types),
``sealing`` (write one signature), ``verify`` (check them all), ``nonces`` (one-time sign
requests). The use case that asks for the password lives in ``lims.services.signing``.
"""
