"""Process resources: building engines, Redis and the store, and the embedded servers."""
