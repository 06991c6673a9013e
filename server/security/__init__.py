"""Who is calling and what they may see: principals and roles, API keys, request limits, and the
release rules every output path applies. `dependencies` is the FastAPI side; the rest is pure."""
