"""The WSGI entry for gunicorn (`Procfile` web). One worker process with threads:
Flask-SocketIO keeps its clients in the process, so scale out with several such
processes behind a sticky proxy, sharing REDIS_URL as the message queue."""
from . import create_app

app = create_app()
