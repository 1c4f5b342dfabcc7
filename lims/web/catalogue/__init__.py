"""Projects, samples, datasets and versions: browse, create, download."""
