"""The app the Kubernetes task deploys: a greeting that names its pod.

Each replica answers with its own host name, so a student who curls the
Service several times sees the load spread over the pods.
"""

import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT = 8080


class Greeting(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"Hello from TryHackMe! This answer comes from {socket.gethostname()}.\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        print(f"{self.address_string()} {fmt % args}", flush=True)


if __name__ == "__main__":
    # As the container's first process, Python would ignore SIGTERM and
    # `docker stop` would wait ten seconds before killing it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening on port {PORT}", flush=True)
    HTTPServer(("0.0.0.0", PORT), Greeting).serve_forever()
