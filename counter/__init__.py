"""The counter blueprint: its HTTP routes and socket handlers."""

from flask import Blueprint

bp = Blueprint("counter", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/counter")

from . import routes  # noqa: E402,F401  (registers the routes on bp)
