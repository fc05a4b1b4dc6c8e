"""The AIMS Graph REST API: a thin FastAPI layer over mapper/ (see api/app.py:create_app)."""
