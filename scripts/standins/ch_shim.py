#!/usr/bin/env python3
"""Test stand-in for ClickHouse's HTTP interface, on chDB (the ClickHouse engine in a PyPI wheel).

chDB runs ClickHouse in-process only; this serves the part of ClickHouse's HTTP interface
(https://clickhouse.com/docs/interfaces/http) that outpost-rs's ClickHouse log store and curl use:

  GET|HEAD /ping, GET /             "Ok."
  POST /  body = SQL                statement in the body
  GET|POST /?query=SQL              statement in the URL; a POST body is appended to it after a
                                    newline, so `query=INSERT INTO t (..) FORMAT JSONEachRow` with
                                    the rows as body inserts them (ClickHouse's own rule)
  database=DB                       current database of the statement
  default_format=FMT                output format when the SQL names none (TabSeparated)
  param_NAME=VALUE                  query parameters, `{NAME:Type}` in the SQL
  user/password, X-ClickHouse-User/-Key, Basic auth: accepted, not checked

Errors come back as ClickHouse sends them: `Code: N. DB::Exception: ...` with the status
ClickHouse would use (400 syntax/bad arguments, 403 read-only, 404 unknown table or database,
500 otherwise) and `X-ClickHouse-Exception-Code: N`. A GET may only read (as ClickHouse's
readonly=2 for GET). Refused with 400 rather than silently ignored: settings as URL parameters
(put them in the SQL's SETTINGS clause), sessions, and compressed bodies.

Statements run one at a time on one chDB session (chDB is not safe for concurrent use); its data
lives in --path and survives restarts.
"""
import argparse
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session as chdb_session

# URL parameters with a meaning here; any other is a ClickHouse setting, which the shim refuses.
KNOWN_PARAMS = {"query", "database", "default_format", "user", "password", "query_id", "wait_end_of_query"}
# What a GET may run (ClickHouse treats GET as readonly=2).
READ_ONLY = re.compile(r"^\s*(\(\s*)*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b", re.I)
CODE = re.compile(r"Code:\s*(\d+)")
# ClickHouse's HTTP status for some error codes (HTTPHandler's mapping, abridged).
STATUS_BY_CODE = {
    6: 400, 27: 400, 36: 400, 38: 400, 41: 400, 47: 400, 53: 400, 62: 400, 69: 400, 72: 400,
    115: 400, 117: 400, 130: 400, 184: 400, 215: 400, 252: 400,
    164: 403,
    60: 404, 81: 404, 83: 404,
    192: 401, 193: 401, 194: 401, 516: 401,
}


class ClickHouseError(Exception):
    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.status = status or STATUS_BY_CODE.get(code, 500)


class Engine:
    """One chDB session, used by one request at a time."""

    def __init__(self, path):
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()

    def run(self, sql, fmt, database=None, params=None):
        with self.lock:
            if database:
                self.session.query(f"USE `{database.replace('`', '``')}`")
            try:
                if params:
                    result = self.session.query(sql, fmt, params=params)
                else:
                    result = self.session.query(sql, fmt)
                return result.bytes()
            finally:
                if database:
                    self.session.query("USE default")

    def close(self):
        with self.lock:
            self.session.close()


def as_clickhouse_error(e):
    if isinstance(e, ClickHouseError):
        return e
    text = str(e).strip()
    m = CODE.search(text)
    code = int(m.group(1)) if m else 1000
    if not text.startswith("Code:"):
        text = f"Code: {code}. DB::Exception: {text}"
    return ClickHouseError(code, text)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine = None
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("[ch-shim] " + (fmt % args) + "\n")

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fail(self, e):
        err = as_clickhouse_error(e)
        body = (str(err) + "\n").encode()
        self.reply(err.status, body, [("X-ClickHouse-Exception-Code", str(err.code)),
                                      ("Content-Type", "text/plain; charset=UTF-8")])

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.handle_request(b"", read_only=True)

    def do_POST(self):
        try:
            body = self.read_body()
        except (ValueError, OSError) as e:
            return self.fail(ClickHouseError(1000, f"Code: 1000. DB::Exception: bad request body: {e}", 400))
        self.handle_request(body, read_only=False)

    def handle_request(self, body, read_only):
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/ping" or (url.path in ("", "/") and not url.query and not body):
            return self.reply(200, b"Ok.\n", [("Content-Type", "text/plain; charset=UTF-8")])
        try:
            if url.path not in ("", "/"):
                raise ClickHouseError(1000, f"Code: 1000. DB::Exception: no handler for {url.path} in this test shim", 404)
            qs = dict(parse_qsl(url.query, keep_blank_values=True))
            params = {k[len("param_"):]: v for k, v in qs.items() if k.startswith("param_")}
            unknown = sorted(k for k in qs if k not in KNOWN_PARAMS and not k.startswith("param_"))
            if unknown:
                raise ClickHouseError(115, "Code: 115. DB::Exception: settings as URL parameters are not "
                                           f"supported by this test shim: {', '.join(unknown)} (put them in "
                                           "the query's SETTINGS clause). (UNKNOWN_SETTING)")
            if self.headers.get("Content-Encoding"):
                raise ClickHouseError(1000, "Code: 1000. DB::Exception: compressed request bodies are not "
                                            "supported by this test shim", 400)
            sql = qs.get("query", "")
            if body:
                sql = f"{sql}\n{body.decode('utf-8')}" if sql else body.decode("utf-8")
            if not sql.strip():
                raise ClickHouseError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
            if read_only and not READ_ONLY.match(sql):
                raise ClickHouseError(164, "Code: 164. DB::Exception: Cannot execute query in readonly mode: "
                                           "use POST for statements that write. (READONLY)")
            self.log_message("%s %s", self.command, sql[:200].replace("\n", " "))
            fmt = qs.get("default_format") or "TabSeparated"
            out = self.engine.run(sql, fmt, qs.get("database"), params)
        except UnicodeDecodeError as e:
            return self.fail(ClickHouseError(1000, f"Code: 1000. DB::Exception: request body is not UTF-8: {e}", 400))
        except Exception as e:  # chDB raises on every SQL error
            return self.fail(e)
        self.reply(200, out, [("Content-Type", "text/plain; charset=UTF-8"),
                              ("X-ClickHouse-Format", qs.get("default_format") or "TabSeparated")])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1:8123", help="host:port (default 127.0.0.1:8123)")
    ap.add_argument("--path", required=True, help="chDB data directory")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    engine = Engine(a.path)
    version = engine.run("SELECT version()", "TabSeparated").decode().strip()
    Handler.engine, Handler.verbose = engine, a.verbose
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"[ch-shim] ClickHouse {version} (chDB) HTTP interface on http://{a.listen}, data in {a.path}", flush=True)
    server.serve_forever()
    server.server_close()
    engine.close()
    print("[ch-shim] stopped", flush=True)


if __name__ == "__main__":
    main()
