"""HTTP adapter: FastAPI routes that translate requests to store calls and domain errors to JSON."""
