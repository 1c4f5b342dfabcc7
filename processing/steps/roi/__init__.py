"""Steps that select a region of interest."""
