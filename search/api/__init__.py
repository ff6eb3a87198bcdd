"""The HTTP API (Falcon): `create_app` in `search.api.app`; gunicorn entry `search.api.wsgi`."""
