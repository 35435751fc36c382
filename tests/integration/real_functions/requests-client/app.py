"""Call an HTTP API with requests: query parameters, a JSON body, basic auth, a session that
keeps its connection, and the JSON answer read back. The API is a small server this function
starts on its own loopback (127.0.0.1) at init, so no request leaves the machine."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import certifi
import charset_normalizer
import requests


class EchoAPI(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps({
            "path": self.path,
            "auth": self.headers["Authorization"],
            "received": json.loads(body),
            "connection": self.headers["Connection"],
        }).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), EchoAPI)
threading.Thread(target=server.serve_forever, daemon=True).start()
session = requests.Session()


def handler(event, context):
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/orders"
    response = session.post(url, params=event["params"], json=event["order"],
                            auth=("reporter", "s3cret"), timeout=5)
    response.raise_for_status()
    sample = event["text"].encode(event["encoding"])
    return {
        "status": response.status_code,
        "answer": response.json(),
        "elapsed_type": type(response.elapsed).__name__,
        "ca_bundle": certifi.where(),
        "detected": charset_normalizer.from_bytes(sample).best().encoding,
        "requests": requests.__version__,
    }
