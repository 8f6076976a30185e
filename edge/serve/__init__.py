"""`fer-edge run --serve`: the run's live view in a browser (view.py), its HTTP server (server.py),
who may connect (access.py), and the page itself (web/: plain HTML, JS and CSS)."""

from fer_edge.edge.serve.access import check_token, parse_address
from fer_edge.edge.serve.view import LiveView

__all__ = ["LiveView", "check_token", "parse_address"]
