#!/usr/bin/env python3
"""A scripted HTTP server on loopback, the other end of the http sink tests.

usage: server.py DIR [--fail-first N] [--refuse-marker TEXT] [--port PORT]

Listens on 127.0.0.1 on a free port (or PORT, to come back where a killed
server was) and writes the port to DIR/port. Each
POST is logged as one line of DIR/requests.log: "STATUS PEER-PORT ENCODING
LINES X-TOKEN" (the value of the X-Token header, "-" if none). Its body (gunzipped if Content-Encoding is gzip) is appended to
DIR/received.ndjson only when answered 200. The first N requests are
answered 503; a body holding TEXT is answered 400 with an explanation.
HTTP/1.1 with Content-Length, so clients may keep the connection alive.
Stops when DIR/stop appears or after five minutes.
"""
import argparse
import gzip
import http.server
import os
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--refuse-marker", default=None)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    lock = threading.Lock()
    state = {"requests": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, text):
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            encoding = self.headers.get("Content-Encoding", "identity")
            if encoding == "gzip":
                body = gzip.decompress(body)
            text = body.decode("utf-8")
            with lock:
                state["requests"] += 1
                n = state["requests"]
                if n <= args.fail_first:
                    status, reply = 503, "busy, try later"
                elif args.refuse_marker and args.refuse_marker in text:
                    status, reply = 400, "bad record: found " + args.refuse_marker
                else:
                    status, reply = 200, "ok"
                lines = text.count("\n")
                with open(os.path.join(args.dir, "requests.log"), "a") as log:
                    token = self.headers.get("X-Token", "-")
                    log.write(f"{status} {self.client_address[1]} {encoding} {lines} {token}\n")
                if status == 200:
                    with open(os.path.join(args.dir, "received.ndjson"), "a") as out:
                        out.write(text)
            self.answer(status, reply)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(os.path.join(args.dir, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    deadline = time.time() + 300
    while time.time() < deadline and not os.path.exists(os.path.join(args.dir, "stop")):
        time.sleep(0.05)
    server.shutdown()


if __name__ == "__main__":
    main()
