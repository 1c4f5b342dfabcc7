"""The Flask web UI: server-rendered pages over the services (parse, call, render)."""
