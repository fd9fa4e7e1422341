"""Run inside a container: probe.py requests URL COUNT INTERVAL -> status counts;
probe.py reach HOST PORT -> whether HOST resolves and a TCP connection opens;
probe.py poll UNTIL[,LATEST] INTERVAL URL... -> one JSON line per request, each URL
polled every INTERVAL seconds until the epoch time UNTIL (the kernel clock, shared
with the machine outside the host), and on, up to LATEST, until it has answered 200;
probe.py every UNTIL INTERVAL URL -> the same lines, a request started every INTERVAL
seconds whether or not the one before has answered, as a proxy's users do not wait
for each other: a request that hangs (up to its 5 s timeout) hides none after it."""
import errno
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def resolve(host, seconds):
    """The address of host, or None when the name does not resolve within seconds. getaddrinfo has no
    timeout of its own: while a container is gone, aardvark-dns asks the upstream resolver for its name,
    which on the e2e host (no network beyond it) never answers, and a poller waiting on that sees nothing."""
    found = {}

    def lookup():
        try:
            found["address"] = socket.gethostbyname(host)
        except OSError:
            pass

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(seconds)
    return found.get("address")


def classify(url):
    """200, 5xx (the app up without its database), or why no answer came: the app not up yet."""
    parts = urllib.parse.urlsplit(url)
    address = resolve(parts.hostname, 1.0)
    if address is None:
        return "unresolved"
    # The address found, with the name as the Host header, as a proxy that resolved it sends.
    direct = urllib.request.Request(parts._replace(netloc=f"{address}:{parts.port or 80}").geturl(), headers={"Host": parts.netloc})
    try:
        return str(urllib.request.urlopen(direct, timeout=5).status)
    except urllib.error.HTTPError as error:
        return str(error.code)
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, socket.gaierror):
            return "unresolved"
        if isinstance(reason, ConnectionRefusedError):
            return "refused"
        if isinstance(reason, OSError) and reason.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "unreachable"
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return "timeout"
        return "error:" + type(reason).__name__
    except (socket.timeout, TimeoutError):
        return "timeout"
    except OSError as error:
        return "error:" + type(error).__name__


def poll(url, until, latest, interval, lock):
    answered = False
    while True:
        started = time.time()
        if started >= latest or (started >= until and answered):
            return
        result = classify(url)
        answered = answered or result == "200"
        with lock:
            print(json.dumps({"t": started, "url": url, "r": result}), flush=True)
        time.sleep(max(0.0, interval - (time.time() - started)))


if sys.argv[1] == "requests":
    url, count, interval = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    statuses = {}
    for _ in range(count):
        try:
            status = urllib.request.urlopen(url, timeout=5).status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = "no-answer"
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        time.sleep(interval)
    print(json.dumps(statuses))
elif sys.argv[1] == "poll":
    # UNTIL[,LATEST]: a URL that has not answered 200 by UNTIL is polled on until it does, or until LATEST.
    until, latest = (float(x) for x in (sys.argv[2] + "," + sys.argv[2]).split(",")[:2])
    interval, urls = float(sys.argv[3]), sys.argv[4:]
    lock = threading.Lock()
    threads = [threading.Thread(target=poll, args=(url, until, latest, interval, lock)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
elif sys.argv[1] == "every":
    until, interval, url = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    lock = threading.Lock()

    def one():
        started = time.time()
        result = classify(url)
        with lock:
            print(json.dumps({"t": started, "url": url, "r": result}), flush=True)

    tick = time.time()
    while tick < until:
        threading.Thread(target=one).start()
        tick += interval
        time.sleep(max(0.0, tick - time.time()))
elif sys.argv[1] == "reach":
    host, port = sys.argv[2], int(sys.argv[3])
    result = {"resolves": False, "connects": False}
    try:
        address = socket.gethostbyname(host)
        result["resolves"] = True
    except OSError:
        address = host
    try:
        socket.create_connection((address, port), timeout=3).close()
        result["connects"] = True
    except OSError:
        pass
    print(json.dumps(result))
