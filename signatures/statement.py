"""The signature-accountability statement each signer acknowledges once (Part 11 §11.10(j)).

The text is versioned by its SHA-256: a new wording needs a new acknowledgement. The
acknowledgement is an audit event (``signature.acknowledge``, object id = the digest), so it
is stored append-only with its time and hash-chained like every other event.
"""

from __future__ import annotations

import hashlib

STATEMENT_VERSION = "1"
STATEMENT_TEXT = (
    "I understand that my electronic signatures in ctvault are the legally binding "
    "equivalent of my handwritten signature. I will sign only records I have read and "
    "understood, only with the meaning I intend, and I will never share my password or let "
    "anyone sign for me. I am accountable and responsible for every action initiated under "
    "my electronic signature, in accordance with the laboratory's written policies."
)
STATEMENT_SHA256 = hashlib.sha256(STATEMENT_TEXT.encode("utf-8")).hexdigest()
