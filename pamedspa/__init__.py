"""Project wiring for pamedspa: settings, URLs and the WSGI/ASGI entry points."""
