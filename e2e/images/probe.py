"""Run inside a container: probe.py requests URL COUNT INTERVAL -> status counts;
probe.py reach HOST PORT -> whether HOST resolves and a TCP connection opens."""
import json
import socket
import sys
import time
import urllib.error
import urllib.request

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
