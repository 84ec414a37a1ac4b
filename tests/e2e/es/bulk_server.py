#!/usr/bin/env python3
"""A strict Elasticsearch _bulk test server on loopback, the other end of the
elasticsearch sink tests (no Elasticsearch server is packaged for Debian 12).

usage: bulk_server.py DIR [options]

Listens on 127.0.0.1 on a free port (or --port PORT) and writes the port to
DIR/port. Only
POST /_bulk (optionally ?pipeline=NAME) is served, and the request is
checked the way Elasticsearch reads it:
  - Content-Type is application/x-ndjson;
  - the body is gzip exactly when --gzip is given (Content-Encoding: gzip);
  - the Authorization header matches --user USER:PASSWORD (Basic) or
    --api-key KEY (ApiKey), when given;
  - the body is UTF-8 NDJSON ending with a newline, in pairs: an action line
    {"index"|"create": {"_index": ..., "_id"?: ...}} with no other keys,
    then a source line holding a JSON object.
A request breaking a rule is answered 400 (401 for authentication) the way
Elasticsearch answers, and the reason is appended to DIR/violations.log, so
a test can require that file to stay empty.

Items are answered one by one, as Elasticsearch does: 201 when stored, 409
version_conflict_engine_exception for a `create` whose _id is in the index
already. Scripted failures:
  --fail-requests N    the first N requests are answered 503 as a whole
  --flaky TEXT         an item whose source line holds TEXT is answered 429
  --flaky-times K      ... the first K times it is seen (default 2)
  --reject TEXT        an item whose source holds TEXT is answered 400
                       mapper_parsing_exception
  --lose-answers N     the first N valid requests are stored but the
                       connection is closed without an answer
Stored documents are appended to DIR/docs.ndjson, one line each:
{"index": ..., "id": ..., "op": ..., "pipeline": ..., "source": {...}}.
Like a cluster, the server keeps them across its restarts: started again
on the same DIR, it knows the _ids stored before (a repeated `create` is
answered 409).
Each request is logged in DIR/requests.log: "STATUS ITEMS ENCODING PATH".
Stops when DIR/stop appears or after five minutes.
"""
import argparse
import base64
import gzip
import http.server
import json
import os
import threading
import time
import urllib.parse


class Refusal(Exception):
    def __init__(self, status, kind, reason):
        super().__init__(reason)
        self.status, self.kind, self.reason = status, kind, reason


def parse_bulk(text):
    """The (op, meta, source, raw source line) of each pair; raises Refusal."""
    if not text.endswith("\n"):
        raise Refusal(400, "illegal_argument_exception",
                      "The bulk request must be terminated by a newline [\\n]")
    lines = text[:-1].split("\n")
    if len(lines) % 2:
        raise Refusal(400, "illegal_argument_exception",
                      f"an action line without its source line ({len(lines)} lines)")
    pairs = []
    for i in range(0, len(lines), 2):
        try:
            action = json.loads(lines[i])
        except ValueError as e:
            raise Refusal(400, "x_content_parse_exception", f"line {i + 1}: {e}")
        if not isinstance(action, dict) or len(action) != 1:
            raise Refusal(400, "illegal_argument_exception",
                          f"line {i + 1}: an action line must hold exactly one action")
        op, meta = next(iter(action.items()))
        if op not in ("index", "create") or not isinstance(meta, dict):
            raise Refusal(400, "illegal_argument_exception",
                          f"line {i + 1}: unexpected action [{op}]")
        extra = set(meta) - {"_index", "_id"}
        if extra or not isinstance(meta.get("_index"), str) or not meta["_index"]:
            raise Refusal(400, "action_request_validation_exception",
                          f"line {i + 1}: bad action metadata {sorted(meta)}")
        if "_id" in meta and (not isinstance(meta["_id"], str) or not meta["_id"]):
            raise Refusal(400, "action_request_validation_exception",
                          f"line {i + 1}: _id must be a non-empty string")
        try:
            source = json.loads(lines[i + 1])
        except ValueError as e:
            raise Refusal(400, "x_content_parse_exception", f"line {i + 2}: {e}")
        if not isinstance(source, dict):
            raise Refusal(400, "mapper_parsing_exception",
                          f"line {i + 2}: the source is not an object")
        pairs.append((op, meta, source, lines[i + 1]))
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--api-key")
    ap.add_argument("--fail-requests", type=int, default=0)
    ap.add_argument("--flaky")
    ap.add_argument("--flaky-times", type=int, default=2)
    ap.add_argument("--reject")
    ap.add_argument("--lose-answers", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    lock = threading.Lock()
    state = {"requests": 0, "lost": 0, "next_id": 0, "flaky_seen": {}, "ids": set()}

    def path_of(name):
        return os.path.join(args.dir, name)

    if os.path.exists(path_of("docs.ndjson")):
        with open(path_of("docs.ndjson")) as f:
            for line in f:
                doc = json.loads(line)
                state["ids"].add((doc["index"], doc["id"]))
                state["next_id"] += 1

    def append(name, line):
        with open(path_of(name), "a") as f:
            f.write(line + "\n")

    def expected_auth():
        if args.user:
            return "Basic " + base64.b64encode(args.user.encode()).decode()
        if args.api_key:
            return "ApiKey " + args.api_key
        return None

    def judge(op, meta, source, raw, pipeline):
        """One item: its answer, storing the document if it is written."""
        index = meta["_index"]
        answer = {"_index": index}
        if args.reject and args.reject in raw:
            answer.update(status=400, error={
                "type": "mapper_parsing_exception",
                "reason": "failed to parse field [reading] of type [float]"})
            return answer
        if args.flaky and args.flaky in raw:
            seen = state["flaky_seen"].get(raw, 0)
            state["flaky_seen"][raw] = seen + 1
            if seen < args.flaky_times:
                answer.update(status=429, error={
                    "type": "es_rejected_execution_exception",
                    "reason": "rejected execution: the write queue is full"})
                return answer
        doc_id = meta.get("_id")
        if doc_id is None:
            state["next_id"] += 1
            doc_id = f"auto-{state['next_id']}"
        answer["_id"] = doc_id
        if op == "create" and (index, doc_id) in state["ids"]:
            answer.update(status=409, error={
                "type": "version_conflict_engine_exception",
                "reason": f"[{doc_id}]: version conflict, document already exists"})
            return answer
        state["ids"].add((index, doc_id))
        append("docs.ndjson", json.dumps({"index": index, "id": doc_id, "op": op,
                                          "pipeline": pipeline, "source": source}))
        answer.update(status=201, result="created")
        return answer

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, doc):
            body = json.dumps(doc, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def refuse(self, r, log=True):
            if log:
                append("violations.log", f"{r.status} {r.kind}: {r.reason}")
            self.reply(r.status, {"error": {"type": r.kind, "reason": r.reason},
                                  "status": r.status})

        def read_body(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            encoding = self.headers.get("Content-Encoding", "identity")
            if (encoding == "gzip") != args.gzip:
                raise Refusal(400, "illegal_argument_exception",
                              f"Content-Encoding {encoding}, expected "
                              f"{'gzip' if args.gzip else 'identity'}")
            if args.gzip:
                try:
                    body = gzip.decompress(body)
                except OSError as e:
                    raise Refusal(400, "illegal_argument_exception", f"bad gzip: {e}")
            try:
                return body.decode("utf-8"), encoding
            except UnicodeDecodeError as e:
                raise Refusal(400, "illegal_argument_exception", f"not UTF-8: {e}")

        def check_request(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path != "/_bulk" or set(query) - {"pipeline"}:
                raise Refusal(400, "illegal_argument_exception",
                              f"unexpected path {self.path}")
            ctype = self.headers.get("Content-Type", "")
            if ctype.split(";")[0].strip() != "application/x-ndjson":
                raise Refusal(400, "illegal_argument_exception",
                              f"Content-Type [{ctype}] is not application/x-ndjson")
            want = expected_auth()
            if want and self.headers.get("Authorization") != want:
                raise Refusal(401, "security_exception",
                              "unable to authenticate user for REST request [/_bulk]")
            return query.get("pipeline", [None])[0]

        def do_POST(self):
            try:
                pipeline = self.check_request()
                text, encoding = self.read_body()
                pairs = parse_bulk(text)
            except Refusal as r:
                self.refuse(r, log=r.status != 401)
                append("requests.log", f"{r.status} 0 - {self.path}")
                return
            with lock:
                state["requests"] += 1
                if state["requests"] <= args.fail_requests:
                    append("requests.log", f"503 {len(pairs)} {encoding} {self.path}")
                    self.reply(503, {"error": {"type": "unavailable_shards_exception",
                                               "reason": "primary shard is not active"},
                                     "status": 503})
                    return
                items = [{op: judge(op, meta, src, raw, pipeline)}
                         for op, meta, src, raw in pairs]
                append("requests.log", f"200 {len(pairs)} {encoding} {self.path}")
                if state["lost"] < args.lose_answers:
                    state["lost"] += 1
                    self.close_connection = True
                    return
            errors = any(v["status"] >= 300 for item in items for v in item.values())
            self.reply(200, {"took": 3, "errors": errors, "items": items})

        def do_GET(self):
            self.refuse(Refusal(400, "illegal_argument_exception",
                                f"GET {self.path}: only POST /_bulk is served"))

        do_PUT = do_DELETE = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(path_of("port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(path_of("port.tmp"), path_of("port"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    deadline = time.time() + 300
    while time.time() < deadline and not os.path.exists(path_of("stop")):
        time.sleep(0.05)
    server.shutdown()


if __name__ == "__main__":
    main()
