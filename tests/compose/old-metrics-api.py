"""Stand-in for the old kitestacks-metrics-api (scripts/compose-test): answers
/api/health like the FastAPI service did, and a tiny /api/metrics. Stops on SIGTERM as
uvicorn does (as PID 1 a Python process would otherwise ignore it until SIGKILL)."""
import http.server
import json
import signal
import socket
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        bodies = {
            "/api/health": {"ok": True},
            "/api/metrics": {"hostname": socket.gethostname(), "source": "old metrics api"},
        }
        body = bodies.get(self.path)
        data = json.dumps(body if body is not None else {"detail": "Not Found"}).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
