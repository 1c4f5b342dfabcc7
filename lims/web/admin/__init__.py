"""User administration: accounts, roles and project membership, sessions."""
