"""Application use cases: authorize, act, audit, commit, enqueue after commit."""
