"""Identity, permissions and the ways a person proves who they are."""
