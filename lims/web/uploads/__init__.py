"""Browser uploads streamed into the store, one raw request body per file."""
