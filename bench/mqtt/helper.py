#!/usr/bin/env python3
"""bench/mqtt/helper.py: the two helpers of bench/mqtt/run.sh.

  helper.py publish PORT TOPIC N    publishes N small JSON messages with QoS 1
                                    over one MQTT 3.1.1 connection to
                                    127.0.0.1:PORT, pipelined, and returns
                                    once the broker acknowledged every one
                                    (a PUBACK each), so all are queued.
  helper.py wait API N SECONDS      polls sluice's /stats at API (HOST:PORT)
                                    until the sinks' records_in add up to N;
                                    prints the count, exits 1 on timeout.

Why not mosquitto_pub -l: 2.0.11 (Debian 12) disconnects at the end of its
input with QoS 1 messages still queued in the client, so of 200,000 lines
the broker got about 69,000 (its log: "disconnected due to out of memory").
"""
import json
import socket
import struct
import sys
import threading
import time
import urllib.request


def remaining_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first, body):
    return bytes([first]) + remaining_length(len(body)) + body


def utf8(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("publish: the broker closed the connection")
        data += chunk
    return data


def publish(port, topic, n):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connect = utf8("MQTT") + bytes([4, 0x02]) + struct.pack(">H", 60) + utf8("bench-publisher")
    sock.sendall(packet(0x10, connect))
    if read_exact(sock, 4) != b"\x20\x02\x00\x00":
        raise SystemExit("publish: the broker refused the connection")
    topic_bytes = utf8(topic)
    window = 20000          # unacknowledged at most: packet ids stay unique
    acked = 0
    lock = threading.Condition()

    def reader():
        nonlocal acked
        buf = b""
        while acked < n:
            data = sock.recv(65536)
            if not data:
                break
            buf += data
            whole = len(buf) // 4 * 4    # PUBACKs only: 0x40 0x02 ID ID
            if buf[0:whole:4].count(0x40) != whole // 4:
                raise SystemExit("publish: unexpected packet from the broker")
            with lock:
                acked += whole // 4
                lock.notify()
            buf = buf[whole:]

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    sent = 0
    chunk = 2000
    while sent < n:
        with lock:
            while sent - acked > window:
                lock.wait(1)
        out = bytearray()
        for i in range(sent, min(n, sent + chunk)):
            payload = b'{"n":%d,"sensor":"sensor-%d","temperature":21.5}' % (i, i % 100)
            out += packet(0x32, topic_bytes + struct.pack(">H", i % 65535 + 1) + payload)
        sock.sendall(out)
        sent = min(n, sent + chunk)
    t.join(120)
    if acked != n:
        raise SystemExit(f"publish: {acked} of {n} messages acknowledged")
    sock.sendall(b"\xe0\x00")   # DISCONNECT
    sock.close()


def records_in(api):
    with urllib.request.urlopen(f"http://{api}/stats", timeout=5) as r:
        stats = json.load(r)
    return sum(c["records_in"] for c in stats["components"] if c["kind"] == "sink")


def wait(api, n, seconds):
    deadline = time.monotonic() + seconds
    got = -1
    while time.monotonic() < deadline:
        try:
            got = records_in(api)
        except OSError:     # not listening yet
            pass
        if got >= n:
            print(got)
            return
        time.sleep(0.01)
    print(got)
    sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "publish":
        publish(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        wait(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
