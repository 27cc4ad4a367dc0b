"""The WSGI application that `flask --app app` and gunicorn load."""

from liveblog import create_app

app = create_app()
