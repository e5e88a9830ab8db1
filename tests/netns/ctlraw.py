# SPDX-License-Identifier: ISC
"""Raw clients of ostpd's control socket (docs/CONTROL.md) for the netns
tests: requests ostpctl never sends, and clients that misbehave.

  ctlraw.py send SOCK KIND [ARGS...]   send one request, print each reply
      record as "ERR errno message", "DATA type", "DONE", then "EOF" or
      "TIMEOUT" (nothing for 3 s).  KIND: info, close_user USER,
      len NLMSG_LEN TYPE (a bare 16-byte header), peer_add NAME ENDPOINT
      KEYHEX, short, long, badattr, nonul, keylen, unknown, raw HEX.
  ctlraw.py peers SOCK COUNT KEYHEX   add COUNT peers pN (one request each)
  ctlraw.py stall SOCK SECS N MODES   keep N connections open for SECS s,
      reconnecting each one the daemon closes; MODES is a comma list
      cycled over the N: idle (send nothing), partial (8 bytes of a
      header, then nothing), noread (send a PEER_LIST and never read).
      Prints a JSON summary.

Every mode is bounded in time; nothing here needs the network.
"""
import json
import select
import socket
import struct
import sys
import time

GET_INFO, GET_SESSIONS, CLOSE_USER, PEER_ADD, PEER_LIST = 16, 17, 19, 24, 26
A_USER, A_PUBKEY, A_ENDPOINT, A_PEER_NAME = 4, 2, 5, 19
NLMSG_ERROR, NLMSG_DONE = 2, 3


def attr(t, payload, nla_len=None):
    n = 4 + len(payload) if nla_len is None else nla_len
    return struct.pack("<HH", n, t) + payload + b"\0" * ((4 - (4 + len(payload)) % 4) % 4)


def sattr(t, text):
    return attr(t, text.encode() + b"\0")


def msg(typ, body=b"", seq=7, nlmsg_len=None):
    n = 16 + len(body) if nlmsg_len is None else nlmsg_len
    return struct.pack("<IHHII", n, typ, 5, seq, 0) + body


def build(kind, args):
    if kind == "info":
        return msg(GET_INFO)
    if kind == "close_user":
        return msg(CLOSE_USER, sattr(A_USER, args[0]))
    if kind == "len":
        return msg(int(args[1], 0), nlmsg_len=int(args[0], 0))
    if kind == "peer_add":
        return msg(PEER_ADD, sattr(A_PEER_NAME, args[0]) + sattr(A_ENDPOINT, args[1]) +
                   attr(A_PUBKEY, bytes.fromhex(args[2])))
    if kind == "short":
        return msg(GET_INFO)[:8]
    if kind == "long":
        return msg(GET_INFO, b"\0" * 9000)
    if kind == "badattr":      # nla_len runs past the message
        return msg(CLOSE_USER, attr(A_USER, b"ian\0", nla_len=200))
    if kind == "nonul":        # a string without its NUL
        return msg(CLOSE_USER, attr(A_USER, b"ianx"))
    if kind == "keylen":       # a 31-byte key
        return msg(PEER_ADD, sattr(A_PEER_NAME, "p9") + sattr(A_ENDPOINT, "198.18.0.9:7000") +
                   attr(A_PUBKEY, b"\x58" + b"\x66" * 30))
    if kind == "unknown":
        return msg(200)
    if kind == "raw":
        return bytes.fromhex(args[0])
    sys.exit("ctlraw: unknown kind " + kind)


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(3)
    s.connect(path)
    return s


def describe(rec):
    if len(rec) < 16:
        return "SHORT %d" % len(rec)
    n, typ = struct.unpack_from("<IH", rec)
    if typ == NLMSG_ERROR:
        err = struct.unpack_from("<i", rec, 16)[0]
        text = ""
        off = 16 + 20
        while off + 4 <= min(n, len(rec)):
            alen, atyp = struct.unpack_from("<HH", rec, off)
            if alen < 4:
                break
            if atyp == 1:
                text = rec[off + 4:off + alen].rstrip(b"\0").decode(errors="replace")
            off += (alen + 3) & ~3
        return ("ERR %d %s" % (-err, text)).rstrip()
    if typ == NLMSG_DONE:
        return "DONE"
    return "DATA %d" % typ


def cmd_send(path, kind, args):
    s = connect(path)
    s.send(build(kind, args))
    end = time.monotonic() + 3
    while True:
        try:
            s.settimeout(max(0.01, end - time.monotonic()))
            rec = s.recv(1 << 16)
        except socket.timeout:
            print("TIMEOUT")
            break
        except OSError as e:
            print("EOF", e)
            break
        if not rec:
            print("EOF")
            break
        print(describe(rec), flush=True)


def cmd_peers(path, count, keyhex):
    bad = 0
    for i in range(count):
        s = connect(path)
        s.send(msg(PEER_ADD, sattr(A_PEER_NAME, "p%d" % i) +
                   sattr(A_ENDPOINT, "198.18.%d.%d:7000" % (100 + i // 250, 1 + i % 250)) +
                   attr(A_PUBKEY, bytes.fromhex(keyhex))))
        rec = s.recv(1 << 16)
        if describe(rec) != "ERR 0":
            bad += 1
        s.close()
    print("added", count - bad, "refused", bad)
    sys.exit(1 if bad else 0)


def cmd_stall(path, secs, n, modes):
    stats = {"connects": 0, "closed_by_daemon": 0, "idle_close_s": [], "errors": 0}
    conns = [None] * n          # (socket, mode, t_connect)
    retry = [0.0] * n           # a closed slot reconnects at most 5 times a second
    end = time.monotonic() + secs

    def open_one(i):
        mode = modes[i % len(modes)]
        try:
            s = connect(path)
        except OSError:
            stats["errors"] += 1
            conns[i] = None
            return
        s.setblocking(False)
        if mode == "partial":
            s.send(msg(GET_INFO)[:8])
        elif mode == "noread":
            s.send(msg(PEER_LIST))
        stats["connects"] += 1
        conns[i] = (s, mode, time.monotonic())

    for i in range(n):
        open_one(i)
    while time.monotonic() < end:
        fds = {}
        poller = select.poll()
        for i, c in enumerate(conns):
            if c is None:
                if time.monotonic() >= retry[i]:
                    open_one(i)
                continue
            fds[c[0].fileno()] = i
            poller.register(c[0].fileno(), select.POLLHUP | select.POLLERR)
        for fd, ev in poller.poll(100):
            i = fds[fd]
            s, mode, t0 = conns[i]
            stats["closed_by_daemon"] += 1
            if mode == "idle":
                stats["idle_close_s"].append(round(time.monotonic() - t0, 2))
            s.close()
            conns[i] = None
            retry[i] = time.monotonic() + 0.2
    for c in conns:
        if c is not None:
            c[0].close()
    print(json.dumps(stats), flush=True)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    what, path = sys.argv[1], sys.argv[2]
    if what == "send":
        cmd_send(path, sys.argv[3], sys.argv[4:])
    elif what == "peers":
        cmd_peers(path, int(sys.argv[3]), sys.argv[4])
    elif what == "stall":
        cmd_stall(path, float(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(","))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
