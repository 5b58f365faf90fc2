"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from loyalty.app import create_app

app = create_app()
