"""Stand-in for the Rezept-Tagebuch app (its image cannot be fetched here).

Reads the same environment as the real app, answers /api/version without the
database and /api/recipes from it (500 when the database fails, like the real app
did in the incident). Logs every database attempt with its time, so a test can
see whether the app ever ran before its database was ready.

/api/slow?ms=N answers after N ms (at most 60 s): requests in flight when a deploy
stops the container. On SIGTERM it stops as gunicorn's graceful stop does: it stops
accepting, lets every request in flight finish, then exits (podman stop's --time
bounds the wait). STANDIN_DATABASE_FAILS=true makes a release whose database access
fails while /api/version still answers.
"""
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2

ENV = os.environ


def log(event, **fields):
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def query(sql, params=()):
    try:
        if ENV.get("STANDIN_DATABASE_FAILS") == "true":
            raise psycopg2.OperationalError("this release cannot reach its database (STANDIN_DATABASE_FAILS)")
        with psycopg2.connect(host=ENV["POSTGRES_HOST"], port=ENV["POSTGRES_PORT"], dbname=ENV["POSTGRES_DB"],
                              user=ENV["POSTGRES_USER"], password=ENV["POSTGRES_PASSWORD"], connect_timeout=3) as conn:
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS recipes (id serial PRIMARY KEY, title text NOT NULL)")
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else []
        log("db-query", ok=True)
        return rows
    except psycopg2.Error as error:
        log("db-query", ok=False, error=str(error).strip())
        raise


in_flight = 0
in_flight_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def handle(self):
        global in_flight
        with in_flight_lock:
            in_flight += 1
        try:
            super().handle()
        finally:
            with in_flight_lock:
                in_flight -= 1

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/api/slow":
            ms = min(int(parse_qs(url.query).get("ms", ["1000"])[0]), 60_000)
            time.sleep(ms / 1000)
            return self.reply(200, {"slept_ms": ms})
        if self.path == "/api/version":
            return self.reply(200, {"version": ENV["APP_VERSION"], "dev_mode": ENV.get("DEV_MODE") == "true"})
        if self.path == "/api/recipes":
            try:
                return self.reply(200, [title for (title,) in query("SELECT title FROM recipes ORDER BY id")])
            except psycopg2.Error:
                return self.reply(500, {"error": "database unavailable"})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/api/recipes":
            return self.reply(404, {"error": "not found"})
        title = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["title"]
        try:
            query("INSERT INTO recipes (title) VALUES (%s)", (title,))
            return self.reply(201, {"title": title})
        except psycopg2.Error:
            return self.reply(500, {"error": "database unavailable"})

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    # Request threads that server_close() joins (socketserver.ThreadingMixIn: only non-daemon threads are kept).
    daemon_threads = False
    block_on_close = True


if __name__ == "__main__":
    stopping = threading.Event()
    # As PID 1 the process gets no default SIGTERM handling: without a handler from the start, a stop during the
    # first query would wait out podman's timeout. The handler only wakes the main thread.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    log("start", version=ENV["APP_VERSION"], db_host=ENV["POSTGRES_HOST"])
    try:
        query("SELECT 1")
    except psycopg2.Error:
        pass
    server = Server(("0.0.0.0", int(sys.argv[1]) if len(sys.argv) > 1 else 80), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    while not stopping.wait(3600):
        pass
    server.shutdown()  # the accept loop ends
    # What the kernel accepted meanwhile waits in the listen backlog, and closing the socket would reset it (nginx
    # logged "reset by peer" once a deploy): serve it first. From the close on, a connect is refused, which a proxy
    # tries on its next address.
    server.socket.setblocking(False)
    while True:
        try:
            request, address = server.socket.accept()
        except BlockingIOError:
            break
        request.setblocking(True)
        server.process_request(request, address)
    log("stopping", in_flight=in_flight)
    server.server_close()  # closes the listening socket, then joins every request thread
    log("stopped", in_flight=in_flight)
    sys.exit(0)
