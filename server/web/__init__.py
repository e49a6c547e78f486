"""The PWA shell: server-rendered first paint of the log-in page and the home of
each role, the web app manifest, the service worker (served from / so its scope
is the whole app), and the API docs page from our own static bundle."""
from flask import (Blueprint, current_app, redirect, render_template, send_from_directory,
                   url_for)
from flask_login import current_user, login_required

bp = Blueprint("web", __name__)


@bp.route("/")
@login_required
def home():
    return render_template("app.html", user=current_user)


@bp.route("/login")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    return render_template("login.html")


@bp.route("/sw.js")
def service_worker():
    response = send_from_directory(current_app.static_folder, "dist/sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    return send_from_directory(current_app.static_folder, "manifest.webmanifest",
                               mimetype="application/manifest+json")


@bp.route("/api/docs")
def api_docs():
    return render_template("api_docs.html")


def init_app(app):
    app.register_blueprint(bp)
