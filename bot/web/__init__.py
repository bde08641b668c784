"""Web pages served by the FastAPI app (see routes.py)."""
