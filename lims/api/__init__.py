"""JSON API blueprints over the services, and the IIIF Image API."""
