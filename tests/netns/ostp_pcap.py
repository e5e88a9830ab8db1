#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Captures of the known-answer vectors, and what tshark made of captures,
for tests/netns/test_dissector.sh (the Wireshark dissector,
scripts/wireshark/ostp.lua).

  vec VEC OUT SEG PORT       a pcap of the session of tests/vectors/VEC
                             (a .vec file): OUT.pcap, the key log OUT.keys
                             and the records it must show, OUT.expect
  hexsession DIR OUT SEG PORT
                             the same for the raw session of DIR/*.hex
                             (handshake and a 10000-byte chained DATA),
                             keys and inputs from DIR/README.md
  check PDML EXPECT [plain]  the OSTP records tshark showed (tshark -T pdml)
                             are exactly those expected, each decrypted
                             to the expected body; with "plain", each
                             shown but none decrypted
  summary PDML               one line per record: dir type counter len
                             decrypted, and the message in hex

The client is 198.18.0.2:40000, the server 198.18.0.1:PORT; each flight
(the bytes one side wrote in one go) is cut into TCP segments of at most
SEG bytes, so that records span segments and segments hold several
records.
"""
import re
import struct
import sys
import xml.etree.ElementTree as ET

CLI, SRV = bytes([198, 18, 0, 2]), bytes([198, 18, 0, 1])
CPORT = 40000
TYPES = {"DATA": 0x01, "DATA_GSO": 0x02, "SERVER_AUTH": 0x10, "SAP": 0x11,
         "PAP": 0x12, "MGMT": 0x13, "PEER_BLOCK": 0x14, "CONFIG": 0x15,
         "CLIENT_AUTH": 0x16, "MEMBER": 0x17, "ECHO_REQ": 0x20,
         "ECHO_REPLY": 0x21, "REKEY": 0x22, "CLOSE": 0x7F}
NAMES = {v: k for k, v in TYPES.items()}


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pcap:
    def __init__(self, port):
        self.port = port
        self.pkts = []
        self.seq = {True: 1000, False: 5000}   # c2s?, initial sequence numbers
        self.t = 0

    def packet(self, c2s, flags, payload=b""):
        src, dst = (CLI, SRV) if c2s else (SRV, CLI)
        sport, dport = (CPORT, self.port) if c2s else (self.port, CPORT)
        seq, ack = self.seq[c2s], self.seq[not c2s]
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                          65535, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        c = csum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload),
                         len(self.pkts) & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        eth = (b"\x02\0\0\0\0\x01" if c2s else b"\x02\0\0\0\0\x02") + \
              (b"\x02\0\0\0\0\x02" if c2s else b"\x02\0\0\0\0\x01") + b"\x08\x00"
        self.t += 1000
        self.pkts.append((self.t, eth + ip + tcp + payload))
        self.seq[c2s] = (seq + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF

    def open(self):
        self.packet(True, 0x02)           # SYN
        self.packet(False, 0x12)          # SYN, ACK
        self.packet(True, 0x10)           # ACK

    def flight(self, c2s, data, seg):
        for i in range(0, len(data), seg):
            self.packet(c2s, 0x18, data[i:i + seg])     # PSH, ACK

    def close(self):
        self.packet(True, 0x11)           # FIN, ACK
        self.packet(False, 0x11)
        self.packet(True, 0x10)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, p in self.pkts:
                f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(p), len(p)))
                f.write(p)


def write_out(out, pc, keys, expect):
    pc.write(out + ".pcap")
    with open(out + ".keys", "w") as f:
        f.write("# OSTP key log of a test vector\n")
        for line in keys:
            f.write(line + "\n")
    with open(out + ".expect", "w") as f:
        for line in expect:
            f.write(line + "\n")


def from_vec(path, out, seg, port):
    pc = Pcap(port)
    pc.open()
    keys, expect, epk = [], [], None
    flight, fdir, frame = b"", None, None

    def flush():
        nonlocal flight
        if flight:
            pc.flight(fdir == "c2s", flight, seg)
        flight = b""

    for line in open(path):
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        if f[0] == "value" and f[1] == "client_epk":
            epk = f[2]
        elif f[0] == "key":
            keys.append("OSTP_TRAFFIC_KEY %s %s %s %s" % (epk, f[1], f[2], f[3]))
        elif f[0] in ("flight", "step", "end"):
            flush()
            if f[0] == "flight":
                fdir = f[1]
        elif f[0] in ("sr", "sh"):
            flight += bytes.fromhex(f[2])
            expect.append("%s %s" % (f[0].upper(), f[1]))
        elif f[0] == "frame":
            # frame DIR CTR TYPE FLAGS LEN GEN
            frame = f
        elif f[0] == "body":
            d, ctr, typ, flags, ln, gen = frame[1:7]
            body = f[2] if f[2] != "-" else ""
            expect.append("frame %s %d %s %d %s %s %s" % (d, TYPES[typ], ctr, int(flags, 16),
                                                         ln, gen, body or "-"))
        elif f[0] == "wire":
            flight += bytes.fromhex(f[2])
    flush()
    pc.close()
    write_out(out, pc, keys, expect)


def readme_value(text, name):
    """The 32-byte hex value on the line "NAME  VALUE" of README.md."""
    m = re.search(r"^%s +([0-9a-f]{64})$" % re.escape(name), text, re.M)
    if not m:
        raise SystemExit("README: no %s" % name)
    return m.group(1)


def from_hex(d, out, seg, port):
    rd = open(d + "/README.md").read()
    epk = readme_value(rd, "client ephemeral pk")
    keys = ["OSTP_TRAFFIC_KEY %s c2s 0 %s" % (epk, readme_value(rd, "K_c2s")),
            "OSTP_TRAFFIC_KEY %s s2c 0 %s" % (epk, readme_value(rd, "K_s2c"))]
    hx = lambda n: bytes.fromhex(open("%s/%s.hex" % (d, n)).read().replace("\n", ""))
    pc = Pcap(port)
    pc.open()
    c2s = hx("handshake_c2s")
    sr_len = 33 + c2s[33]
    pc.flight(True, c2s[:sr_len], seg)
    pc.flight(False, hx("handshake_s2c"), seg)
    pc.flight(True, c2s[sr_len:] + hx("chained_c2s"), seg)
    pc.close()
    # What README.md lays out: bodies are not listed there ("*"), but the
    # chained DATA is data[i] = i * 7 mod 256, checked as the message.
    data = bytes(i * 7 % 256 for i in range(10000)).hex()
    expect = ["SR c2s", "SH s2c",
              "frame s2c 16 0 0 96 0 *", "frame s2c 17 1 0 7 0 *",
              "frame s2c 18 2 0 3 0 *", "frame s2c 21 3 0 39 0 *",
              "frame c2s 17 0 0 14 0 *", "frame c2s 18 1 0 3 0 *",
              "frame c2s 1 2 1 4096 0 *", "frame c2s 1 3 1 4096 0 *",
              "frame c2s 1 4 0 1808 0 * message=" + data]
    write_out(out, pc, keys, expect)


def records(pdml):
    """Each OSTP record tshark showed, as a dict of field name -> (show,
    value); the fields of the packet a DATA record carried (the protocols
    after it in the same frame) under "inner"."""
    out = []
    for packet in ET.parse(pdml).getroot().iter("packet"):
        rec, stream = None, None
        for proto in packet.findall("proto"):
            if proto.get("name") == "tcp" and stream is None:
                f = proto.find("field[@name='tcp.stream']")
                stream = f.get("show") if f is not None else None
            if proto.get("name") != "ostp":
                if rec is not None:
                    for field in proto.iter("field"):
                        name = field.get("name")
                        if name and name not in rec["inner"]:
                            rec["inner"][name] = (field.get("show"), field.get("value"))
                continue
            rec = {"inner": {}, "stream": stream}
            for field in proto.iter("field"):
                name = field.get("name")
                if name and name.startswith("ostp.") and name not in rec:
                    rec[name] = (field.get("show"), field.get("value"))
            out.append(rec)
    return out


def show(rec, name):
    return rec.get(name, (None, None))[0]


def value(rec, name):
    return rec.get(name, (None, None))[1]


def describe(rec):
    kind = show(rec, "ostp.record")
    if kind in ("SR", "SH"):
        return "%s %s" % (kind, show(rec, "ostp.dir"))
    if kind != "frame":
        return "?"
    t = int(show(rec, "ostp.type"), 0)
    return "frame %s %s %s %s %s" % (show(rec, "ostp.dir"), NAMES.get(t, hex(t)),
                                     show(rec, "ostp.counter"), show(rec, "ostp.len"),
                                     "gen=" + show(rec, "ostp.key_gen")
                                     if "ostp.decrypted" in rec else "encrypted")


def check(pdml, expect, plain):
    got = records(pdml)
    want = [line.split() for line in open(expect) if line.strip()]
    bad = 0
    if len(got) != len(want):
        print("check: %d records shown, %d expected" % (len(got), len(want)))
        bad += 1
    for i, (g, w) in enumerate(zip(got, want)):
        err = []
        if w[0] in ("SR", "SH"):
            if show(g, "ostp.record") != w[0] or show(g, "ostp.dir") != w[1]:
                err.append("not the %s" % w[0])
        else:
            d, typ, ctr, flags, ln, gen, body = w[1:8]
            if show(g, "ostp.record") != "frame" or show(g, "ostp.dir") != d:
                err.append("not a %s frame" % d)
            if show(g, "ostp.type") is None or int(show(g, "ostp.type"), 0) != int(typ):
                err.append("type")
            if show(g, "ostp.counter") != ctr:
                err.append("counter")
            if show(g, "ostp.flags") is None or int(show(g, "ostp.flags"), 0) != int(flags):
                err.append("flags")
            if show(g, "ostp.len") != ln:
                err.append("len")
            if plain:
                if "ostp.decrypted" in g or "ostp.plaintext" in g:
                    err.append("decrypted without a key")
            else:
                if show(g, "ostp.key_gen") != gen:
                    err.append("key generation %s" % show(g, "ostp.key_gen"))
                if body != "*" and (value(g, "ostp.plaintext") or "-") != body:
                    err.append("plaintext")
                for extra in w[8:]:
                    k, v = extra.split("=", 1)
                    if value(g, "ostp." + k) != v:
                        err.append(k)
        if err:
            bad += 1
            print("check: record %d (%s): %s; shown: %s" % (i, " ".join(w[:7]),
                                                        ", ".join(err), describe(g)))
    print("check: %d records, %d wrong" % (len(got), bad))
    return 1 if bad else 0


def summary(pdml):
    """describe() of each record, its TCP stream, then what was decoded
    inside: SAP user and code, PAP spw and code, CLOSE reason, chain
    length, an ICMP or ICMPv6 packet carried (type, sequence, payload) or
    the TCP ports and length of a TCP segment; last the message in hex."""
    for rec in records(pdml):
        extra = ["stream=%s" % rec["stream"]]
        for name in ("ostp.sap.user", "ostp.sap.code", "ostp.pap.spw", "ostp.pap.code",
                     "ostp.config.mtu", "ostp.close.reason", "ostp.chain.frames",
                     "ostp.chain.length"):
            if name in rec:
                extra.append("%s=%s" % (name[5:], show(rec, name)))
        inner = rec["inner"]
        for proto in ("icmp", "icmpv6"):
            if proto + ".type" in inner:
                extra.append("%s=%s seq=%s data=%s" % (
                    proto, inner[proto + ".type"][0],
                    (inner.get(proto + ".seq") or inner.get(proto + ".echo.sequence_number")
                     or (None, None))[0],
                    (inner.get("data.data") or (None, None))[1]))
        if "tcp.srcport" in inner:
            extra.append("tcp=%s>%s len=%s" % (inner["tcp.srcport"][0], inner["tcp.dstport"][0],
                                              inner.get("tcp.len", (None, None))[0]))
        print(describe(rec), " ".join(extra), value(rec, "ostp.message") or "-")
    return 0


def main(argv):
    if len(argv) >= 5 and argv[0] == "vec":
        from_vec(argv[1], argv[2], int(argv[3]), int(argv[4]))
        return 0
    if len(argv) >= 5 and argv[0] == "hexsession":
        from_hex(argv[1], argv[2], int(argv[3]), int(argv[4]))
        return 0
    if len(argv) >= 3 and argv[0] == "check":
        return check(argv[1], argv[2], len(argv) > 3 and argv[3] == "plain")
    if len(argv) == 2 and argv[0] == "summary":
        return summary(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
