"""The bare Flask handler baseline: one route answering {"ok": true}, no database,
no extensions. Served by the same gunicorn configuration as the real app
(`gunicorn ... 'bench.bare_app:app'`), it is the ceiling of server + client + Flask
on this machine, the figure an API read is read against."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok():
    return {"ok": True}
