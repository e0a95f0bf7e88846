"""The supervisors' blueprint: the live board (/dashboard), its actions, and the reports."""

from flask import Blueprint

# Files in board/static/board/ are served at /static/board/<file>.
bp = Blueprint("board", __name__, template_folder="templates",
               static_folder="static/board", static_url_path="/static/board")

from . import pages, routes  # noqa: E402,F401  (registers the routes on bp)
