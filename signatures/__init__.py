"""Electronic signatures: re-authentication, manifest, cryptographic binding, verification.

Modules: ``content`` (canonical content digests), ``manifest`` (the signed statement),
``keys`` (Ed25519 keys, encrypted at rest, rotation, export), ``registry`` (which record
types can be signed and how their content is read), ``records`` (the built-in record types:
``analysis_record``, ``data_records``, ``step_record``), ``sealing`` (write one signature),
``verify`` (check them), ``nonces`` (one-time sign requests), ``statement`` (the
accountability statement). The use cases that ask for the password live in
``lims.services.signing`` and ``lims.services.signer_checks``.
"""
