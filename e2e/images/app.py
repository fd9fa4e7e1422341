"""Stand-in for the Rezept-Tagebuch app (its image cannot be fetched here).

Reads the same environment as the real app, answers /api/version without the
database and /api/recipes from it (500 when the database fails, like the real app
did in the incident). Logs every database attempt with its time, so a test can
see whether the app ever ran before its database was ready.
"""
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

ENV = os.environ


def log(event, **fields):
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def query(sql, params=()):
    try:
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


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
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


if __name__ == "__main__":
    # As PID 1 the process gets no default SIGTERM handling: exit on podman stop like a real server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log("start", version=ENV["APP_VERSION"], db_host=ENV["POSTGRES_HOST"])
    try:
        query("SELECT 1")
    except psycopg2.Error:
        pass
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1]) if len(sys.argv) > 1 else 80), Handler).serve_forever()
