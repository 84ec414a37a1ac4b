#!/usr/bin/env python3
"""client.py: the clients and checks of tests/e2e/sources.sh, on loopback.

  client.py port                      print a free TCP+UDP port on 127.0.0.1
  client.py wait-tcp PORT PID         wait until something listens on PORT
  client.py wait-udp PORT PID         wait until a UDP socket is bound to PORT
                                      (giving up if process PID has ended)
  client.py tcp PORT [options]        send numbered lines over TCP:
      --clients C --lines N --prefix P   C clients at once, N lines each,
                                         "P-c-i" (c: client, i: line)
      --chunk K      send K bytes at a time, so lines straddle reads
      --no-final-newline   the last line of each client has no newline
      --send-buffer B      the clients' SO_SNDBUF, so the kernel holds little
      --min-seconds S      fail unless sending took at least S seconds
  client.py udp PORT --datagrams D --lines L --prefix P
                                      D datagrams of L lines "P-d-l"
  client.py http-posts PORT PATH --clients C --requests R --lines N --prefix P
                                      C clients at once, R NDJSON POSTs each
                                      of N lines: request k of client c holds
                                      "P-(c*R+k)-i"; each must get 200
  client.py raw-tcp PORT HEX          send these bytes, then close
  client.py raw-udp PORT HEX          send one datagram of these bytes
  client.py idle-tcp PORT SECONDS TEXT [LAST]
                                      connect, send TEXT, stay open, send
                                      LAST, close
  client.py refused PORT              exit 0 if the server closes a new
                                      connection at once (without data)
  client.py random-tcp PORT SEED MAX_LINE DIR
                                      send a random stream (long lines, CR,
                                      empty lines, bad UTF-8) in random
                                      pieces; write the records and the
                                      number of rejections the line rules
                                      give to DIR/expected, DIR/expected.rejects
  client.py same-messages FILE EXPECTED
                                      the `message`s of NDJSON FILE are, in
                                      order, the JSON strings of EXPECTED
  client.py expect FILE --clients C --lines N --prefix P
      check that the NDJSON FILE holds each message "P-c-i" exactly once
      (for UDP: C datagrams of N lines)

Everything goes to 127.0.0.1 only and stops by itself.
"""
import collections
import json
import os
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def option(args, name, default=None):
    if name in args:
        return args[args.index(name) + 1]
    return default


def free_port():
    # A port free for both TCP and UDP, for a moment.
    for _ in range(100):
        t = socket.socket()
        t.bind((HOST, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((HOST, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise SystemExit("no free port")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_tcp(port, pid):
    for _ in range(200):
        if not alive(pid):
            raise SystemExit("the server has ended")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on %d" % port)


def wait_udp(port, pid):
    for _ in range(200):
        if not alive(pid):
            raise SystemExit("the server has ended")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((HOST, port))
        except OSError:
            return  # taken: the source has it
        finally:
            u.close()
        time.sleep(0.05)
    raise SystemExit("no UDP socket on %d" % port)


def client_bytes(prefix, c, n, final_newline):
    text = "".join("%s-%d-%d\n" % (prefix, c, i) for i in range(n))
    if not final_newline:
        text = text[:-1]
    return text.encode()


def send_tcp(port, args):
    clients = int(option(args, "--clients", "1"))
    n = int(option(args, "--lines", "1"))
    prefix = option(args, "--prefix", "line")
    chunk = int(option(args, "--chunk", "0"))
    final_newline = "--no-final-newline" not in args
    send_buffer = int(option(args, "--send-buffer", "0"))
    failures = []

    def one(c):
        try:
            data = client_bytes(prefix, c, n, final_newline)
            s = socket.socket()
            if send_buffer:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            s.settimeout(60)
            s.connect((HOST, port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if chunk:
                for at in range(0, len(data), chunk):
                    s.sendall(data[at:at + chunk])
                    time.sleep(0.0005)
            else:
                s.sendall(data)
            s.close()
        except OSError as e:
            failures.append("client %d: %s" % (c, e))

    started = time.time()
    threads = [threading.Thread(target=one, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - started
    if failures:
        raise SystemExit("; ".join(failures[:3]))
    least = float(option(args, "--min-seconds", "0"))
    if took < least:
        raise SystemExit("sending took %.2f s: not slowed down (wanted >= %s s)" % (took, least))
    print("sent %d lines in %.2f s" % (clients * n, took))


def send_udp(port, args):
    datagrams = int(option(args, "--datagrams", "1"))
    lines = int(option(args, "--lines", "1"))
    prefix = option(args, "--prefix", "dgram")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for d in range(datagrams):
        text = "".join("%s-%d-%d\n" % (prefix, d, i) for i in range(lines))
        u.sendto(text.encode(), (HOST, port))
        if d % 50 == 49:
            time.sleep(0.01)  # UDP has no flow control: stay gentle
    u.close()


def http_posts(port, path, args):
    import http.client
    clients = int(option(args, "--clients", "1"))
    requests = int(option(args, "--requests", "1"))
    n = int(option(args, "--lines", "1"))
    prefix = option(args, "--prefix", "post")
    failures = []

    def one(c):
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        for k in range(requests):
            body = "".join(json.dumps("%s-%d-%d" % (prefix, c * requests + k, i)) + "\n"
                           for i in range(n))
            conn.request("POST", path, body, {"Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            answer = resp.read().decode()
            if resp.status != 200 or json.loads(answer) != {"accepted": n}:
                failures.append("client %d request %d: %d %s" % (c, k, resp.status, answer))
        conn.close()

    threads = [threading.Thread(target=one, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit("; ".join(failures[:3]))


def raw_tcp(port, hexdata):
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(bytes.fromhex(hexdata))
    s.close()


def raw_udp(port, hexdata):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(bytes.fromhex(hexdata), (HOST, port))
    u.close()


def idle_tcp(port, seconds, text, last=""):
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(text.encode())
    time.sleep(float(seconds))
    s.sendall(last.encode())
    s.close()


def refused(port):
    s = socket.create_connection((HOST, port), timeout=5)
    s.settimeout(5)
    try:
        data = s.recv(1)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        raise SystemExit("the connection stayed open")
    if data:
        raise SystemExit("got data")


def random_stream(rng, max_line):
    pieces = [b"a", b"b c", b"\t", b"\xc3\xa9", b"\x00", b"\r", b"{\"k\": 1}",
              b"x" * (max_line // 2), b"y" * (max_line - 1), b"z" * (max_line * 3),
              b"\xff", b"\xc3"] + [b"\n", b"\r\n"] * 4
    return b"".join(rng.choice(pieces) for _ in range(4000))


def expected_lines(stream, max_line):
    """The records and the rejection count of the netlines rules."""
    records, rejected = [], 0
    for line in stream.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if len(line) > max_line or text is None:
            rejected += 1
        else:
            records.append(text)
    return records, rejected


def random_tcp(port, seed, max_line, into):
    import random
    rng = random.Random(seed)
    stream = random_stream(rng, max_line)
    records, rejected = expected_lines(stream, max_line)
    with open(os.path.join(into, "expected"), "w", encoding="utf-8") as f:
        for text in records:
            f.write(json.dumps(text) + "\n")
    with open(os.path.join(into, "expected.rejects"), "w") as f:
        f.write("%d\n" % rejected)
    s = socket.create_connection((HOST, port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    at = 0
    while at < len(stream):
        n = rng.choice([1, 2, 3, 17, 100, max_line, 5000, 70000])
        s.sendall(stream[at:at + n])
        at += n
        if rng.random() < 0.05:
            time.sleep(0.002)  # let the server read what is there
    s.close()


def same_messages(path, expected_path):
    with open(path, encoding="utf-8") as f:
        got = [json.loads(line).get("message") for line in f]
    with open(expected_path, encoding="utf-8") as f:
        wanted = [json.loads(line) for line in f]
    for i, (g, w) in enumerate(zip(got, wanted)):
        if g != w:
            raise SystemExit("record %d is %r, wanted %r" % (i + 1, g, w))
    if len(got) != len(wanted):
        raise SystemExit("%d records, wanted %d" % (len(got), len(wanted)))


def expect(path, args):
    clients = int(option(args, "--clients", "1"))
    n = int(option(args, "--lines", "1"))
    prefix = option(args, "--prefix", "line")
    wanted = collections.Counter(
        "%s-%d-%d" % (prefix, c, i) for c in range(clients) for i in range(n))
    got = collections.Counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            message = json.loads(line).get("message")
            if isinstance(message, str) and message.startswith(prefix + "-"):
                got[message] += 1
    missing = sum((wanted - got).values())
    extra = sum((got - wanted).values())
    if missing or extra:
        example = next(iter((wanted - got) or (got - wanted)))
        raise SystemExit("%d of %d lines missing, %d extra or repeated (e.g. %s)"
                         % (missing, sum(wanted.values()), extra, example))


def main(argv):
    cmd, rest = argv[1], argv[2:]
    if cmd == "port":
        print(free_port())
    elif cmd == "wait-tcp":
        wait_tcp(int(rest[0]), int(rest[1]))
    elif cmd == "wait-udp":
        wait_udp(int(rest[0]), int(rest[1]))
    elif cmd == "tcp":
        send_tcp(int(rest[0]), rest[1:])
    elif cmd == "udp":
        send_udp(int(rest[0]), rest[1:])
    elif cmd == "http-posts":
        http_posts(int(rest[0]), rest[1], rest[2:])
    elif cmd == "raw-tcp":
        raw_tcp(int(rest[0]), rest[1])
    elif cmd == "raw-udp":
        raw_udp(int(rest[0]), rest[1])
    elif cmd == "idle-tcp":
        idle_tcp(int(rest[0]), *rest[1:])
    elif cmd == "refused":
        refused(int(rest[0]))
    elif cmd == "random-tcp":
        random_tcp(int(rest[0]), int(rest[1]), int(rest[2]), rest[3])
    elif cmd == "same-messages":
        same_messages(rest[0], rest[1])
    elif cmd == "expect":
        expect(rest[0], rest[1:])
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
