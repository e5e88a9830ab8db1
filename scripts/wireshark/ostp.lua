-- SPDX-License-Identifier: ISC
--[[
Wireshark dissector for OSTP/1, the OSMORA Secure Tunnel Protocol
(docs/PROTOCOL.md), in Lua for Wireshark 4.0 or later (Debian 12's tshark).

What it shows
  * OSTP over TCP on the ports of the "ostp.tcp_ports" preference (7000 by
    default), on any other port when a connection starts with a Session
    Request (a heuristic; the "ostp.heuristic" preference turns it off),
    and with Decode As.  Records are reassembled across TCP segments, and
    a segment may hold several.
  * The Session Request (options, epk_c, padding) and the Server Reply
    (epk_s), in the clear.
  * Every message frame's header: message type, flags (MORE), counter,
    tag and length; these are never encrypted.
  * With a key log: each frame decrypted and its message decoded (SAP,
    PAP, CONFIG, PEER_BLOCK, MEMBER, ECHO, CLOSE, ...); a chained message
    reassembled on its last frame; DATA and DATA_GSO packets handed to the
    IPv4 or IPv6 dissector, so the tunnel's traffic shows as such.

Key log
  ostpd writes one only when its configuration says `key_log = "/path"`
  (ostpd.conf(5)); it warns loudly when it does.  Anyone who reads that file
  can decrypt the sessions it names: for debugging on test systems only,
  never in production.  Each line is

    OSTP_TRAFFIC_KEY <epk_c> <c2s|s2c> <generation> <key>

  for the session whose Session Request carries the ephemeral key epk_c
  (64 hex digits), one line per direction for its first keys (generation
  0) and one per rekey.  Other lines are ignored.  So a capture must hold
  a connection's Session Request for its frames to be decrypted.  The file
  is read again when it has grown, so a live capture picks up new sessions.

Usage
  tshark -X lua_script:scripts/wireshark/ostp.lua \
      -o ostp.keylog_file:/path/to/keys -r capture.pcapng -V
  or copy this file to ~/.local/lib/wireshark/plugins/ and set the key log
  under Edit > Preferences > Protocols > OSTP.  Display filters: ostp,
  ostp.type == 0x11 (SAP), ostp.decrypted, ostp.sap.user, ostp.close.reason,
  and the inner ip / icmp / tcp fields of decrypted DATA.

AES-256-GCM is done here in plain Lua, because the Lua of Wireshark 4.0 has
no cipher bindings: decryption only, the tag checked before anything is
shown.  It is slow (some hundred kilobytes a second), which suits debugging
captures, not bulk traffic.
]]

-------------------------------------------------------------------------------
-- AES-256-GCM, decryption only, in plain Lua 5.2 (bit32)
-------------------------------------------------------------------------------
local band, bor, bxor = bit32.band, bit32.bor, bit32.bxor
local lshift, rshift, rrotate = bit32.lshift, bit32.rshift, bit32.rrotate
local sbyte, schar, ssub, concat = string.byte, string.char, string.sub, table.concat

local SBOX, TE0, TE1, TE2, TE3 = {}, {}, {}, {}, {}
do
	local function xtime(x)
		x = x * 2
		if x >= 256 then x = bxor(x, 0x11b) end
		return x
	end
	local exp, log = {}, {}
	local x = 1
	for i = 0, 254 do
		exp[i], log[x] = x, i
		x = bxor(x, xtime(x))           -- times 3, a generator
	end
	for i = 0, 255 do
		local inv = i == 0 and 0 or exp[(255 - log[i]) % 255]
		local s, r = inv, inv
		for _ = 1, 4 do
			r = band(bor(lshift(r, 1), rshift(r, 7)), 0xff)
			s = bxor(s, r)
		end
		SBOX[i] = bxor(s, 0x63)
	end
	for i = 0, 255 do
		local s = SBOX[i]
		local s2 = xtime(s)
		local w = bor(lshift(s2, 24), lshift(s, 16), lshift(s, 8), bxor(s2, s))
		TE0[i], TE1[i], TE2[i], TE3[i] = w, rrotate(w, 8), rrotate(w, 16), rrotate(w, 24)
	end
end

local function subword(w)
	return bor(lshift(SBOX[rshift(w, 24)], 24), lshift(SBOX[band(rshift(w, 16), 0xff)], 16),
		lshift(SBOX[band(rshift(w, 8), 0xff)], 8), SBOX[band(w, 0xff)])
end

local function be32(s, i)
	local a, b, c, d = sbyte(s, i, i + 3)
	return ((a * 256 + b) * 256 + c) * 256 + d
end

-- 60 round-key words, rk[0..59]
local function expand_key(key)
	local rk, rcon = {}, 1
	for i = 0, 7 do rk[i] = be32(key, 4 * i + 1) end
	for i = 8, 59 do
		local t = rk[i - 1]
		if i % 8 == 0 then
			t = bxor(subword(rrotate(t, 24)), lshift(rcon, 24))
			rcon = rcon * 2
			if rcon >= 256 then rcon = bxor(rcon, 0x11b) end
		elseif i % 8 == 4 then
			t = subword(t)
		end
		rk[i] = bxor(rk[i - 8], t)
	end
	return rk
end

local function encrypt_block(rk, s0, s1, s2, s3)
	s0, s1, s2, s3 = bxor(s0, rk[0]), bxor(s1, rk[1]), bxor(s2, rk[2]), bxor(s3, rk[3])
	local k = 4
	for _ = 1, 13 do
		local t0 = bxor(TE0[rshift(s0, 24)], TE1[band(rshift(s1, 16), 0xff)],
			TE2[band(rshift(s2, 8), 0xff)], TE3[band(s3, 0xff)], rk[k])
		local t1 = bxor(TE0[rshift(s1, 24)], TE1[band(rshift(s2, 16), 0xff)],
			TE2[band(rshift(s3, 8), 0xff)], TE3[band(s0, 0xff)], rk[k + 1])
		local t2 = bxor(TE0[rshift(s2, 24)], TE1[band(rshift(s3, 16), 0xff)],
			TE2[band(rshift(s0, 8), 0xff)], TE3[band(s1, 0xff)], rk[k + 2])
		local t3 = bxor(TE0[rshift(s3, 24)], TE1[band(rshift(s0, 16), 0xff)],
			TE2[band(rshift(s1, 8), 0xff)], TE3[band(s2, 0xff)], rk[k + 3])
		s0, s1, s2, s3 = t0, t1, t2, t3
		k = k + 4
	end
	local S = SBOX
	local function last(a, b, c, d, r)
		return bxor(lshift(S[rshift(a, 24)], 24), lshift(S[band(rshift(b, 16), 0xff)], 16),
			lshift(S[band(rshift(c, 8), 0xff)], 8), S[band(d, 0xff)], r)
	end
	return last(s0, s1, s2, s3, rk[56]), last(s1, s2, s3, s0, rk[57]),
		last(s2, s3, s0, s1, rk[58]), last(s3, s0, s1, s2, rk[59])
end

-- GHASH with Shoup's 4-bit tables (as in mbed TLS): T[i] = i * H in
-- GCM's bit order, 128-bit values as four big-endian 32-bit words.
local LAST4 = { [0] = 0x0000, 0x1c20, 0x3840, 0x2460, 0x7080, 0x6ca0, 0x48c0, 0x54e0,
	0xe100, 0xfd20, 0xd940, 0xc560, 0x9180, 0x8da0, 0xa9c0, 0xb5e0 }

local function ghash_table(h0, h1, h2, h3)
	local T = { [0] = { 0, 0, 0, 0 }, [8] = { h0, h1, h2, h3 } }
	local v0, v1, v2, v3 = h0, h1, h2, h3
	for _, i in ipairs({ 4, 2, 1 }) do
		local lsb = band(v3, 1)
		v3 = bor(rshift(v3, 1), lshift(band(v2, 1), 31))
		v2 = bor(rshift(v2, 1), lshift(band(v1, 1), 31))
		v1 = bor(rshift(v1, 1), lshift(band(v0, 1), 31))
		v0 = rshift(v0, 1)
		if lsb == 1 then v0 = bxor(v0, 0xe1000000) end
		T[i] = { v0, v1, v2, v3 }
	end
	for _, i in ipairs({ 2, 4, 8 }) do
		local a = T[i]
		for j = 1, i - 1 do
			local b = T[j]
			T[i + j] = { bxor(a[1], b[1]), bxor(a[2], b[2]), bxor(a[3], b[3]), bxor(a[4], b[4]) }
		end
	end
	return T
end

-- x * H for x = (x0, x1, x2, x3)
local function gmul(T, x0, x1, x2, x3)
	local xw = { x0, x1, x2, x3 }
	local z0, z1, z2, z3 = 0, 0, 0, 0
	for i = 15, 0, -1 do
		local b = band(rshift(xw[rshift(i, 2) + 1], (3 - i % 4) * 8), 0xff)
		local lo, hi = band(b, 0xf), rshift(b, 4)
		local t
		if i ~= 15 then
			local rem = band(z3, 0xf)
			z3 = bor(rshift(z3, 4), lshift(band(z2, 0xf), 28))
			z2 = bor(rshift(z2, 4), lshift(band(z1, 0xf), 28))
			z1 = bor(rshift(z1, 4), lshift(band(z0, 0xf), 28))
			z0 = bxor(rshift(z0, 4), lshift(LAST4[rem], 16))
			t = T[lo]
			z0, z1, z2, z3 = bxor(z0, t[1]), bxor(z1, t[2]), bxor(z2, t[3]), bxor(z3, t[4])
		else
			t = T[lo]
			z0, z1, z2, z3 = t[1], t[2], t[3], t[4]
		end
		local rem = band(z3, 0xf)
		z3 = bor(rshift(z3, 4), lshift(band(z2, 0xf), 28))
		z2 = bor(rshift(z2, 4), lshift(band(z1, 0xf), 28))
		z1 = bor(rshift(z1, 4), lshift(band(z0, 0xf), 28))
		z0 = bxor(rshift(z0, 4), lshift(LAST4[rem], 16))
		t = T[hi]
		z0, z1, z2, z3 = bxor(z0, t[1]), bxor(z1, t[2]), bxor(z2, t[3]), bxor(z3, t[4])
	end
	return z0, z1, z2, z3
end

-- A string's 16-byte blocks (the last zero-padded) as words.
local function block_words(s, p, n)
	if p + 15 <= n then
		return be32(s, p), be32(s, p + 4), be32(s, p + 8), be32(s, p + 12)
	end
	local tail = ssub(s, p, n) .. string.rep("\0", 16 - (n - p + 1))
	return be32(tail, 1), be32(tail, 5), be32(tail, 9), be32(tail, 13)
end

local function ghash(T, y0, y1, y2, y3, s)
	local n = #s
	for p = 1, n, 16 do
		local a, b, c, d = block_words(s, p, n)
		y0, y1, y2, y3 = gmul(T, bxor(y0, a), bxor(y1, b), bxor(y2, c), bxor(y3, d))
	end
	return y0, y1, y2, y3
end

local function word_bytes(w)
	return rshift(w, 24), band(rshift(w, 16), 0xff), band(rshift(w, 8), 0xff), band(w, 0xff)
end

local gcm = {}

-- A key prepared once: round keys and the GHASH table.
function gcm.new(key)
	local rk = expand_key(key)
	return { rk = rk, T = ghash_table(encrypt_block(rk, 0, 0, 0, 0)) }
end

-- The plaintext, or nil when the tag does not verify.  iv: 12 bytes.
function gcm.open(ctx, iv, aad, ct, tag)
	local rk, T = ctx.rk, ctx.T
	local n0, n1, n2 = be32(iv, 1), be32(iv, 5), be32(iv, 9)
	local y0, y1, y2, y3 = ghash(T, 0, 0, 0, 0, aad)
	y0, y1, y2, y3 = ghash(T, y0, y1, y2, y3, ct)
	y0, y1, y2, y3 = gmul(T, y0, bxor(y1, #aad * 8), y2, bxor(y3, #ct * 8))
	local e0, e1, e2, e3 = encrypt_block(rk, n0, n1, n2, 1)
	local want = { word_bytes(bxor(y0, e0)) }
	for _, w in ipairs({ bxor(y1, e1), bxor(y2, e2), bxor(y3, e3) }) do
		local a, b, c, d = word_bytes(w)
		want[#want + 1], want[#want + 2], want[#want + 3], want[#want + 4] = a, b, c, d
	end
	if schar(table.unpack(want)) ~= tag then return nil end
	local out, n, ctr = {}, #ct, 2
	for p = 1, n, 16 do
		local k0, k1, k2, k3 = encrypt_block(rk, n0, n1, n2, ctr)
		local a, b, c, d = block_words(ct, p, n)
		local blk = schar(word_bytes(bxor(a, k0))) .. schar(word_bytes(bxor(b, k1))) ..
			schar(word_bytes(bxor(c, k2))) .. schar(word_bytes(bxor(d, k3)))
		out[#out + 1] = p + 15 <= n and blk or ssub(blk, 1, n - p + 1)
		ctr = ctr + 1
	end
	return concat(out)
end


-------------------------------------------------------------------------------
-- Protocol, fields and preferences
-------------------------------------------------------------------------------
local ostp = Proto("ostp", "OSMORA Secure Tunnel Protocol")

local MSG = {
	[0x01] = "DATA", [0x02] = "DATA_GSO", [0x10] = "SERVER_AUTH", [0x11] = "SAP",
	[0x12] = "PAP", [0x13] = "MGMT", [0x14] = "PEER_BLOCK", [0x15] = "CONFIG",
	[0x16] = "CLIENT_AUTH", [0x17] = "MEMBER", [0x20] = "ECHO_REQ",
	[0x21] = "ECHO_REPLY", [0x22] = "REKEY", [0x7f] = "CLOSE",
}
local AUTH_CODES = { [0] = "AUTH_SUCCESS", [1] = "AUTH_BAD_PW", [2] = "AUTH_BUSY" }
local PAP_CODES = { [0] = "PAP_SUCCESS", [1] = "PAP_BAD_SPW", [2] = "PAP_BAD_PERMS",
	[3] = "PAP_RESOURCE" }
local MGMT_TYPES = { [0] = "MFRAME_ACK", [1] = "MFRAME_TRUNC" }
local CLOSE_REASONS = { [0] = "NORMAL", [1] = "PROTOCOL", [2] = "AUTH_FAILED",
	[3] = "AUTH_REQUIRED", [4] = "TIMEOUT", [5] = "SPW", [6] = "RESOURCE",
	[7] = "SHUTDOWN", [8] = "REVOKED", [9] = "NOT_MEMBER" }
local MEMBER_OPS = { [1] = "UPSERT", [2] = "REMOVE", [3] = "SYNCED", [4] = "ANNOUNCE" }
local GSO_TYPES = { [0] = "NONE", [1] = "TCPV4", [3] = "UDP", [4] = "TCPV6", [5] = "UDP_L4",
	[0x81] = "TCPV4|ECN", [0x84] = "TCPV6|ECN" }
local FAMILIES = { [4] = "IPv4", [6] = "IPv6" }

local F = {
	dir = ProtoField.string("ostp.dir", "Direction"),
	record = ProtoField.string("ostp.record", "Record"),
	-- Session Request / Server Reply (2.1, 2.2)
	sr_options = ProtoField.uint8("ostp.sr.options", "Options", base.HEX),
	sr_opt_u = ProtoField.bool("ostp.sr.options.u", "U: user authentication", 8, nil, 0x01),
	sr_opt_p = ProtoField.bool("ostp.sr.options.p", "P: peer blocks", 8, nil, 0x02),
	sr_opt_i = ProtoField.bool("ostp.sr.options.i", "I: client identity (CLIENT_AUTH)", 8, nil, 0x04),
	sr_opt_res = ProtoField.uint8("ostp.sr.options.reserved", "Reserved", base.HEX, nil, 0xf8),
	sr_epk = ProtoField.bytes("ostp.sr.epk_c", "Client ephemeral key (epk_c)"),
	sr_padlen = ProtoField.uint8("ostp.sr.pad_len", "Pad length (L)"),
	sr_pad = ProtoField.bytes("ostp.sr.pad", "Pad"),
	sh_epk = ProtoField.bytes("ostp.sh.epk_s", "Server ephemeral key (epk_s)"),
	-- message frame header (2.3)
	type = ProtoField.uint8("ostp.type", "Message type", base.HEX, MSG),
	flags = ProtoField.uint8("ostp.flags", "Flags", base.HEX),
	more = ProtoField.bool("ostp.flags.more", "MORE", 8, nil, 0x01),
	flags_res = ProtoField.uint8("ostp.flags.reserved", "Reserved", base.HEX, nil, 0xfe),
	reserved = ProtoField.bytes("ostp.reserved", "Reserved (iv[2..7])"),
	counter = ProtoField.uint64("ostp.counter", "Frame counter"),
	tag = ProtoField.bytes("ostp.tag", "GCM tag"),
	len = ProtoField.uint16("ostp.len", "Length"),
	ciphertext = ProtoField.bytes("ostp.ciphertext", "Ciphertext"),
	-- decryption
	decrypted = ProtoField.bool("ostp.decrypted", "Decrypted"),
	key_gen = ProtoField.uint32("ostp.key_gen", "Key generation"),
	plaintext = ProtoField.bytes("ostp.plaintext", "Plaintext"),
	chain_frames = ProtoField.uint32("ostp.chain.frames", "Frames in this chained message"),
	chain_len = ProtoField.uint32("ostp.chain.length", "Chained message length"),
	message = ProtoField.bytes("ostp.message", "Message"),
	-- messages (2.5)
	sa_idpk = ProtoField.bytes("ostp.server_auth.id_pk", "Server identity key"),
	sa_sig = ProtoField.bytes("ostp.server_auth.sig", "Signature"),
	ca_idpk = ProtoField.bytes("ostp.client_auth.id_pk", "Client identity key"),
	ca_sig = ProtoField.bytes("ostp.client_auth.sig", "Signature"),
	sap_code = ProtoField.uint8("ostp.sap.code", "Code", base.DEC, AUTH_CODES),
	sap_ulen = ProtoField.uint8("ostp.sap.ulen", "Username length"),
	sap_plen = ProtoField.uint16("ostp.sap.plen", "Password length"),
	sap_user = ProtoField.string("ostp.sap.user", "Username"),
	sap_pass = ProtoField.string("ostp.sap.password", "Password"),
	pap_spw = ProtoField.uint16("ostp.pap.spw", "SPW", base.HEX),
	spw_config = ProtoField.bool("ostp.pap.spw.config", "CONFIG", 16, nil, 0x0001),
	spw_ipv4 = ProtoField.bool("ostp.pap.spw.ipv4", "IPV4", 16, nil, 0x0002),
	spw_ipv6 = ProtoField.bool("ostp.pap.spw.ipv6", "IPV6", 16, nil, 0x0004),
	spw_gso = ProtoField.bool("ostp.pap.spw.gso", "GSO", 16, nil, 0x0008),
	spw_relay = ProtoField.bool("ostp.pap.spw.relay", "RELAY", 16, nil, 0x0010),
	spw_mesh = ProtoField.bool("ostp.pap.spw.mesh", "MESH", 16, nil, 0x0020),
	spw_quick = ProtoField.bool("ostp.pap.spw.quick", "QUICK", 16, nil, 0x8000),
	pap_code = ProtoField.uint8("ostp.pap.code", "Code", base.DEC, PAP_CODES),
	mgmt_type = ProtoField.uint8("ostp.mgmt.type", "Type", base.DEC, MGMT_TYPES),
	mgmt_word = ProtoField.uint16("ostp.mgmt.word", "Word (block seq)"),
	pb_seq = ProtoField.uint8("ostp.peer_block.seq", "Block seq"),
	peer_port = ProtoField.uint16("ostp.peer.port", "Port"),
	peer_host = ProtoField.string("ostp.peer.host", "Host"),
	peer_idpk = ProtoField.bytes("ostp.peer.id_pk", "Identity key"),
	cfg_mtu = ProtoField.uint16("ostp.config.mtu", "MTU"),
	cfg_naddr = ProtoField.uint8("ostp.config.naddr", "Addresses"),
	pfx_family = ProtoField.uint8("ostp.prefix.family", "Family", base.DEC, FAMILIES),
	pfx_len = ProtoField.uint8("ostp.prefix.len", "Prefix length"),
	pfx_v4 = ProtoField.ipv4("ostp.prefix.ipv4", "Address"),
	pfx_v6 = ProtoField.ipv6("ostp.prefix.ipv6", "Address"),
	mb_seq = ProtoField.uint32("ostp.member.seq", "Seq"),
	mb_op = ProtoField.uint8("ostp.member.op", "Operation", base.DEC, MEMBER_OPS),
	mb_flags = ProtoField.uint8("ostp.member.flags", "Flags", base.HEX),
	mb_accepts = ProtoField.bool("ostp.member.flags.accepts", "ACCEPTS", 8, nil, 0x01),
	mb_idpk = ProtoField.bytes("ostp.member.id_pk", "Identity key"),
	mb_port = ProtoField.uint16("ostp.member.port", "Port"),
	mb_host = ProtoField.string("ostp.member.host", "Host"),
	mb_nlen = ProtoField.uint8("ostp.member.name_len", "Name length"),
	mb_name = ProtoField.string("ostp.member.name", "Name"),
	mb_nprefix = ProtoField.uint8("ostp.member.nprefix", "Prefixes"),
	echo = ProtoField.bytes("ostp.echo.data", "Data"),
	close = ProtoField.uint8("ostp.close.reason", "Reason", base.DEC, CLOSE_REASONS),
	gso_flags = ProtoField.uint8("ostp.gso.flags", "virtio-net flags", base.HEX),
	gso_type = ProtoField.uint8("ostp.gso.type", "GSO type", base.HEX, GSO_TYPES),
	gso_hdr_len = ProtoField.uint16("ostp.gso.hdr_len", "Header length"),
	gso_size = ProtoField.uint16("ostp.gso.size", "GSO size"),
	gso_csum_start = ProtoField.uint16("ostp.gso.csum_start", "Checksum start"),
	gso_csum_offset = ProtoField.uint16("ostp.gso.csum_offset", "Checksum offset"),
}
local field_list = {}
for _, f in pairs(F) do field_list[#field_list + 1] = f end
ostp.fields = field_list

local E = {
	nokey = ProtoExpert.new("ostp.nokey", "Not decrypted: no key for this session in the key log",
		expert.group.DECRYPTION, expert.severity.NOTE),
	nosr = ProtoExpert.new("ostp.nosr", "Not decrypted: the capture lacks this connection's Session Request",
		expert.group.DECRYPTION, expert.severity.NOTE),
	badtag = ProtoExpert.new("ostp.badtag", "Not decrypted: no key of the key log opens this frame",
		expert.group.DECRYPTION, expert.severity.WARN),
	malformed = ProtoExpert.new("ostp.malformed", "Malformed",
		expert.group.MALFORMED, expert.severity.ERROR),
	chain = ProtoExpert.new("ostp.chain", "Part of a chained message",
		expert.group.REASSEMBLE, expert.severity.CHAT),
}
ostp.experts = { E.nokey, E.nosr, E.badtag, E.malformed, E.chain }

ostp.prefs.tcp_ports = Pref.range("TCP ports", "7000",
	"TCP ports of OSTP servers (ostpd's listen, mesh listeners)", 65535)
ostp.prefs.keylog_file = Pref.string("Key log file", "",
	"File written by ostpd's key_log setting: its keys decrypt the sessions it names")
ostp.prefs.heuristic = Pref.bool("Detect OSTP on any port", true,
	"Take a TCP connection whose first bytes form a Session Request for OSTP")

-- Only the heuristic reads a TCP field, and only when the tree has it:
-- fields are missing from passes that build no tree (tshark -2's first).
-- Everything else comes from pinfo.
local f_seq = Field.new("tcp.seq")

-------------------------------------------------------------------------------
-- State: key log, connections, decrypted frames
-------------------------------------------------------------------------------
-- keys[epk_c hex] = { c2s = { [gen] = raw key }, s2c = { ... } }
local keys, keylog_path, keylog_size = {}, nil, -1
-- AES-GCM contexts by raw key
local contexts = {}
-- conns[connection] = the sessions seen on that address and port pair,
-- oldest first: { sr_frame, sh_frame, epk = hex, server = "addr|port",
-- c2s = { gen, chain }, s2c = { ... } }.  One that started before the
-- capture did has sr_frame 0.
local conns = {}
-- servers[connection] = "addr|port" a Session Request went to, as the
-- heuristic found it
local servers = {}
-- frames[connection .. tag] = { pt, gen, msg, nframes } or { fail = expert }
local frames = {}

local function unhex(h)
	return (h:gsub("..", function(c) return schar(tonumber(c, 16)) end))
end

local function read_keylog(force)
	local path = ostp.prefs.keylog_file
	if path == "" then
		keys, keylog_path, keylog_size = {}, nil, -1
		return
	end
	local f = io.open(path, "rb")
	if not f then return end
	local size = f:seek("end")
	if not force and path == keylog_path and size == keylog_size then
		f:close()
		return
	end
	f:seek("set", 0)
	local new = {}
	for line in f:lines() do
		local id, dir, gen, key = line:match("^OSTP_TRAFFIC_KEY (%x+) ([cs]2[cs]) (%d+) (%x+)%s*$")
		if id and #id == 64 and #key == 64 and (dir == "c2s" or dir == "s2c") then
			id = id:lower()
			new[id] = new[id] or { c2s = {}, s2c = {} }
			new[id][dir][tonumber(gen)] = unhex(key)
		end
	end
	f:close()
	keys, keylog_path, keylog_size = new, path, size
end

local function conn_key(a, ap, b, bp)
	local x, y = a .. "|" .. ap, b .. "|" .. bp
	if x < y then return x .. "-" .. y end
	return y .. "-" .. x
end

local function new_session(num)
	return { sr_frame = num, c2s = { gen = 0 }, s2c = { gen = 0 } }
end

-- The session a record of frame num belongs to: the last one whose
-- Session Request came at or before it.
local function session_of(conn, num)
	local list = conns[conn]
	if not list then
		list = {}
		conns[conn] = list
	end
	for i = #list, 1, -1 do
		if list[i].sr_frame <= num then return list[i] end
	end
	local st = new_session(0)
	table.insert(list, 1, st)
	return st
end

local ports = {}
local function parse_ports(s)
	local set = {}
	for item in tostring(s):gmatch("[^,%s]+") do
		local a, b = item:match("^(%d+)-(%d+)$")
		a, b = tonumber(a or item), tonumber(b or item)
		if a and b then
			for p = a, math.min(b, 65535) do set[p] = true end
		end
	end
	return set
end

-- c2s: the bytes go to the server, the side the Session Request went to;
-- without one seen, the side on a configured port; then the lower port.
local function is_c2s(st, conn, dst, sport, dport)
	local server = st.server or servers[conn]
	if server then return server == dst .. "|" .. dport end
	if ports[dport] and not ports[sport] then return true end
	if ports[sport] and not ports[dport] then return false end
	return dport < sport
end

-------------------------------------------------------------------------------
-- Decryption
-------------------------------------------------------------------------------
local function context(key)
	local c = contexts[key]
	if not c then
		c = gcm.new(key)
		contexts[key] = c
	end
	return c
end

-- The plaintext and key generation of a frame, or nil and the expert info
-- that says why not.  The generation the direction used last is tried
-- first, then the next one (a rekey), then every other.
local function open_frame(st, dirname, hdr, ct)
	if not st.epk then return nil, E.nosr end
	local sess = keys[st.epk]
	if not sess then
		read_keylog(false)
		sess = keys[st.epk]
		if not sess then return nil, E.nokey end
	end
	local dk, ds = sess[dirname], st[dirname]
	local iv, aad, tag = ssub(hdr, 5, 16), ssub(hdr, 1, 16) .. ssub(hdr, 33, 34), ssub(hdr, 17, 32)
	local tried = {}
	local function try(g)
		if tried[g] or not dk[g] then return nil end
		tried[g] = true
		return gcm.open(context(dk[g]), iv, aad, ct, tag)
	end
	for _, g in ipairs({ ds.gen, ds.gen + 1 }) do
		local pt = try(g)
		if pt then
			ds.gen = g
			return pt, g
		end
	end
	for g in pairs(dk) do
		local pt = try(g)
		if pt then
			ds.gen = g
			return pt, g
		end
	end
	if not next(dk) then return nil, E.nokey end
	return nil, E.badtag
end

-------------------------------------------------------------------------------
-- Inner messages (2.5)
-------------------------------------------------------------------------------
local ip_dissector, ipv6_dissector = Dissector.get("ip"), Dissector.get("ipv6")

-- One entry in the Info column per record of the packet (the count kept
-- in the packet's private table, which lives as long as its dissection).
local function info(pinfo, text)
	local n = tonumber(pinfo.private["ostp.n"] or "0")
	if n > 0 then pinfo.cols.info:append(", ") end
	pinfo.cols.info:append(text)
	pinfo.private["ostp.n"] = tostring(n + 1)
end

local function spw_tree(t, r)
	local s = t:add(F.pap_spw, r)
	for _, f in ipairs({ F.spw_config, F.spw_ipv4, F.spw_ipv6, F.spw_gso, F.spw_relay,
		F.spw_mesh, F.spw_quick }) do
		s:add(f, r)
	end
end

-- family, prefix length, 16-byte address (CONFIG entries, MEMBER prefixes)
local function prefix_entry(t, m, o, label)
	local fam, plen = m(o, 1):uint(), m(o + 1, 1):uint()
	local e = t:add(m(o, 18), label)
	e:add(F.pfx_family, m(o, 1))
	e:add(F.pfx_len, m(o + 1, 1))
	if fam == 4 then
		e:add(F.pfx_v4, m(o + 2, 4))
		e:append_text(": " .. tostring(m(o + 2, 4):ipv4()) .. "/" .. plen)
	elseif fam == 6 then
		e:add(F.pfx_v6, m(o + 2, 16))
		e:append_text(": " .. tostring(m(o + 2, 16):ipv6()) .. "/" .. plen)
	end
end

local function call_ip(m, pinfo, root)
	local v, n = rshift(m(0, 1):uint(), 4), m:len()
	local d = v == 6 and n >= 40 and ipv6_dissector or v == 4 and n >= 20 and ip_dissector
	if not d then return end
	-- what the inner packet writes goes after our text
	pinfo.cols.info:append(": ")
	pinfo.cols.info:fence()
	pcall(function() d:call(m, pinfo, root) end)
end

local decode = {}

decode[0x10] = function(m, n, t)
	if n ~= 96 then return false end
	t:add(F.sa_idpk, m(0, 32))
	t:add(F.sa_sig, m(32, 64))
	return true
end

decode[0x16] = function(m, n, t)
	if n ~= 96 then return false end
	t:add(F.ca_idpk, m(0, 32))
	t:add(F.ca_sig, m(32, 64))
	return true
end

decode[0x11] = function(m, n, t, c2s)
	if n < 4 then return false end
	local ulen, plen = m(1, 1):uint(), m(2, 2):uint()
	local code = t:add(F.sap_code, m(0, 1))
	if c2s then code:set_text("Code: " .. m(0, 1):uint() .. " (a request)") end
	t:add(F.sap_ulen, m(1, 1))
	t:add(F.sap_plen, m(2, 2))
	if n ~= 4 + ulen + plen then return false end
	local text = ""
	if ulen > 0 then
		t:add(F.sap_user, m(4, ulen))
		text = ' "' .. m(4, ulen):string() .. '"'
	end
	if plen > 0 then t:add(F.sap_pass, m(4 + ulen, plen)) end
	if not c2s then text = text .. " " .. (AUTH_CODES[m(0, 1):uint()] or "?") end
	return true, text
end

decode[0x12] = function(m, n, t, c2s)
	if n ~= 3 then return false end
	spw_tree(t, m(0, 2))
	local code = t:add(F.pap_code, m(2, 1))
	if c2s then code:set_text("Code: " .. m(2, 1):uint() .. " (a request)") end
	local text = string.format(" spw=0x%04x", m(0, 2):uint())
	if not c2s then text = text .. " " .. (PAP_CODES[m(2, 1):uint()] or "?") end
	return true, text
end

decode[0x13] = function(m, n, t)
	if n ~= 3 then return false end
	t:add(F.mgmt_type, m(0, 1))
	t:add(F.mgmt_word, m(1, 2))
	return true, " " .. (MGMT_TYPES[m(0, 1):uint()] or "?") .. "(" .. m(1, 2):uint() .. ")"
end

decode[0x14] = function(m, n, t)
	if n ~= 1297 then return false end
	local used = 0
	for i = 0, 15 do
		local o = 81 * i
		if m(o, 1):uint() == 0xff then
			local e = t:add(m(o, 81), "Peer " .. i)
			e:add(F.peer_port, m(o + 1, 2))
			e:add(F.peer_host, m(o + 3, 46), m(o + 3, 46):stringz())
			e:add(F.peer_idpk, m(o + 49, 32))
			e:append_text(": " .. m(o + 3, 46):stringz() .. " port " .. m(o + 1, 2):uint())
			used = used + 1
		end
	end
	t:add(F.pb_seq, m(1296, 1))
	return true, " seq=" .. m(1296, 1):uint() .. " peers=" .. used
end

decode[0x15] = function(m, n, t)
	if n < 3 then return false end
	local naddr = m(2, 1):uint()
	t:add(F.cfg_mtu, m(0, 2))
	t:add(F.cfg_naddr, m(2, 1))
	if n ~= 3 + 18 * naddr then return false end
	for i = 0, naddr - 1 do prefix_entry(t, m, 3 + 18 * i, "Address " .. i) end
	return true, " mtu=" .. m(0, 2):uint() .. " addresses=" .. naddr
end

decode[0x17] = function(m, n, t)
	if n < 88 then return false end
	local nl = m(86, 1):uint()
	if n < 88 + nl then return false end
	local np = m(87 + nl, 1):uint()
	if n ~= 88 + nl + 18 * np then return false end
	t:add(F.mb_seq, m(0, 4))
	t:add(F.mb_op, m(4, 1))
	local fl = t:add(F.mb_flags, m(5, 1))
	fl:add(F.mb_accepts, m(5, 1))
	t:add(F.mb_idpk, m(6, 32))
	t:add(F.mb_port, m(38, 2))
	t:add(F.mb_host, m(40, 46), m(40, 46):stringz())
	t:add(F.mb_nlen, m(86, 1))
	if nl > 0 then t:add(F.mb_name, m(87, nl)) end
	t:add(F.mb_nprefix, m(87 + nl, 1))
	for i = 0, np - 1 do prefix_entry(t, m, 88 + nl + 18 * i, "Prefix " .. i) end
	return true, " seq=" .. m(0, 4):uint() .. " " .. (MEMBER_OPS[m(4, 1):uint()] or "?")
end

local function echo(m, n, t)
	if n > 64 then return false end
	if n > 0 then t:add(F.echo, m(0, n)) end
	return true
end
decode[0x20], decode[0x21] = echo, echo

decode[0x22] = function(m, n, t, c2s, gen)
	if n ~= 0 then return false end
	t:append_text(": the next frames of this direction use key generation " .. (gen + 1) ..
		" from counter 0")
	return true
end

decode[0x7f] = function(m, n, t)
	if n ~= 1 then return false end
	t:add(F.close, m(0, 1))
	return true, " " .. (CLOSE_REASONS[m(0, 1):uint()] or "unknown")
end

decode[0x01] = function(m, n, t, c2s, gen, pinfo, root)
	if n < 1 then return false end
	return true, nil, function() call_ip(m, pinfo, root) end
end

decode[0x02] = function(m, n, t, c2s, gen, pinfo, root)
	if n < 11 then return false end
	local h = t:add(m(0, 10), "virtio-net header")
	h:add(F.gso_flags, m(0, 1))
	h:add(F.gso_type, m(1, 1))
	h:add(F.gso_hdr_len, m(2, 2))
	h:add(F.gso_size, m(4, 2))
	h:add(F.gso_csum_start, m(6, 2))
	h:add(F.gso_csum_offset, m(8, 2))
	local p = m(10, n - 10):tvb()
	return true, nil, function() call_ip(p, pinfo, root) end
end

-------------------------------------------------------------------------------
-- Records: Session Request, Server Reply, message frame
-------------------------------------------------------------------------------
local function frame_shaped(tvb, o)
	return tvb(o + 2, 4):uint() == 0 and tvb(o + 6, 2):uint() == 0 and
		band(tvb(o + 1, 1):uint(), 0xfe) == 0
end

-- Length of the record at o; nil when it takes more bytes to tell (as
-- tcp_dissect_pdus() does, TCP is then asked for one more segment); or
-- false for bytes that are no record (the rest is shown as such).
local function record_len(tvb, o, n, c2s, st, num, visited)
	local avail = n - o
	if avail < 8 then return nil end
	if frame_shaped(tvb, o) then
		if avail < 34 then return nil end
		return 34 + tvb(o + 32, 2):uint()
	end
	if c2s then
		-- a later pass finds the Session Requests of the first
		if visited and st.sr_frame ~= num then return false end
		if avail < 34 then return nil end
		local L = tvb(o + 33, 1):uint()
		if band(tvb(o, 1):uint(), 0xf8) ~= 0 or L < 8 or L > 32 then return false end
		return 33 + L
	end
	if st.sr_frame == 0 or (st.sh_frame and st.sh_frame ~= num) then return false end
	return 32
end

-- Returns the session the Session Request starts.
local function dissect_sr(r, pinfo, tree, st, conn, server)
	local t = tree:add(ostp, r)
	t:set_text("OSTP Session Request")
	t:add(F.record, "SR"):set_generated()
	t:add(F.dir, "c2s"):set_generated()
	local o = t:add(F.sr_options, r(0, 1))
	o:add(F.sr_opt_u, r(0, 1))
	o:add(F.sr_opt_p, r(0, 1))
	o:add(F.sr_opt_i, r(0, 1))
	o:add(F.sr_opt_res, r(0, 1))
	t:add(F.sr_epk, r(1, 32))
	t:add(F.sr_padlen, r(33, 1))
	if r:len() > 34 then t:add(F.sr_pad, r(34, r:len() - 34)) end
	-- a new session (on the first pass; later ones find it)
	if st.sr_frame ~= pinfo.number then
		st = new_session(pinfo.number)
		st.epk = r(1, 32):bytes():tohex():lower()
		st.server = server
		table.insert(conns[conn], st)
	end
	info(pinfo, "SR")
	return st
end

local function dissect_sh(r, pinfo, tree, st)
	local t = tree:add(ostp, r)
	t:set_text("OSTP Server Reply")
	t:add(F.record, "SH"):set_generated()
	t:add(F.dir, "s2c"):set_generated()
	t:add(F.sh_epk, r(0, 32))
	st.sh_frame = st.sh_frame or pinfo.number
	info(pinfo, "SH")
end

local CHAINABLE = { [0x01] = true, [0x02] = true }

local function dissect_frame(r, pinfo, tree, st, c2s, conn)
	local ty, fl, clen = r(0, 1):uint(), r(1, 1):uint(), r(32, 2):uint()
	local name = MSG[ty] or string.format("type 0x%02x", ty)
	local dirname = c2s and "c2s" or "s2c"
	local t = tree:add(ostp, r)
	t:add(F.record, "frame"):set_generated()
	t:add(F.dir, dirname):set_generated()
	t:add(F.type, r(0, 1))
	local ft = t:add(F.flags, r(1, 1))
	ft:add(F.more, r(1, 1))
	ft:add(F.flags_res, r(1, 1))
	t:add(F.reserved, r(2, 6))
	t:add(F.counter, r(8, 8))
	t:add(F.tag, r(16, 16))
	t:add(F.len, r(32, 2))
	if clen > 0 then t:add(F.ciphertext, r(34, clen)) end
	local more = band(fl, 1) == 1
	t:set_text(string.format("OSTP %s, %s #%s%s, len %d", name, dirname, r(8, 8):uint64(),
		more and ", MORE" or "", clen))
	local text = name .. (more and "(MORE)" or "")

	local key = conn .. ":" .. r(16, 16):bytes():tohex()
	local fr = frames[key]
	if not fr then
		local hdr, ct = r:raw(0, 34), r:raw(34, clen)
		local pt, why = open_frame(st, dirname, hdr, ct)
		local ds = st[dirname]
		if pt then
			fr = { pt = pt, gen = why }
			-- chains are put together in capture order, on the first pass
			if CHAINABLE[ty] and (more or ds.chain) and not pinfo.visited then
				ds.chain = ds.chain or {}
				ds.chain[#ds.chain + 1] = pt
				if not more then
					fr.msg, fr.nframes = concat(ds.chain), #ds.chain
					ds.chain = nil
				end
			end
			frames[key] = fr
		else
			ds.chain = nil
			-- a missing key may come with a longer key log; a wrong one
			-- stays wrong
			fr = { fail = why }
			if why == E.badtag then frames[key] = fr end
		end
	end

	if fr.fail then
		t:add_proto_expert_info(fr.fail)
		info(pinfo, text)
		return
	end
	t:add(F.decrypted, true):set_generated()
	t:add(F.key_gen, fr.gen):set_generated()
	local ptvb
	if #fr.pt > 0 then
		ptvb = ByteArray.new(fr.pt, true):tvb("Decrypted OSTP " .. name)
		t:add(F.plaintext, ptvb(0, #fr.pt))
	end
	if more then
		t:add_proto_expert_info(E.chain)
		info(pinfo, text)
		return
	end
	local m, mlen = ptvb, #fr.pt
	if fr.msg then
		m = ByteArray.new(fr.msg, true):tvb("Chained OSTP " .. name)
		mlen = #fr.msg
		t:add(F.chain_frames, fr.nframes):set_generated()
		t:add(F.chain_len, mlen):set_generated()
	end
	local body
	if mlen > 0 then
		body = t:add(F.message, m(0, mlen))
	else
		body = t:add(r(32, 2), "Message")
	end
	body:set_text("Message " .. name .. " (" .. mlen .. " bytes)")
	local dec = decode[ty]
	local ok, more_text, after = false, nil, nil
	if dec then
		ok, more_text, after = dec(m, mlen, body, c2s, fr.gen, pinfo, tree)
	end
	if not ok then body:add_proto_expert_info(E.malformed) end
	info(pinfo, text .. (more_text or ""))
	if after then after() end
end

-------------------------------------------------------------------------------
-- The dissector: records out of the TCP stream
-------------------------------------------------------------------------------
function ostp.dissector(tvb, pinfo, tree)
	local n = tvb:len()
	if n == 0 then return 0 end
	-- The outer addresses and ports, kept from the first call for this
	-- packet: TCP calls again for what follows a reassembled record, and
	-- by then an inner packet of that record has put its own in pinfo.
	local ep = pinfo.private["ostp.ep"]
	if not ep then
		ep = string.format("%s|%d|%s|%d", tostring(pinfo.src), pinfo.src_port,
			tostring(pinfo.dst), pinfo.dst_port)
		pinfo.private["ostp.ep"] = ep
		pinfo.cols.info:clear()
	end
	local src, sport, dst, dport = ep:match("^(.*)|(%d+)|(.*)|(%d+)$")
	sport, dport = tonumber(sport), tonumber(dport)
	local conn = conn_key(src, sport, dst, dport)
	local num = pinfo.number
	local st = session_of(conn, num)
	local c2s = is_c2s(st, conn, dst, sport, dport)
	pinfo.cols.protocol = "OSTP"
	local o = 0
	while o < n do
		local len = record_len(tvb, o, n, c2s, st, num, pinfo.visited)
		if len == nil then
			pinfo.desegment_offset = o
			pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
			return n
		end
		if len == false then
			local t = tree:add(ostp, tvb(o, n - o))
			t:set_text("OSTP, not a record (did the capture start mid-stream?)")
			t:add_proto_expert_info(E.malformed)
			info(pinfo, "?")
			return n
		end
		if o + len > n then
			pinfo.desegment_offset = o
			pinfo.desegment_len = o + len - n
			return n
		end
		local r = tvb(o, len):tvb()
		if len >= 34 and frame_shaped(tvb, o) then
			dissect_frame(r, pinfo, tree, st, c2s, conn)
		elseif c2s then
			st = dissect_sr(r, pinfo, tree, st, conn, dst .. "|" .. dport)
		else
			dissect_sh(r, pinfo, tree, st)
		end
		o = o + len
	end
	return o
end

-- A connection whose first client bytes are exactly a Session Request.
local function heuristic(tvb, pinfo, tree)
	if not ostp.prefs.heuristic then return false end
	local n = tvb:len()
	if n < 41 or n > 65 then return false end
	local seq = f_seq()
	if seq and seq.value ~= 1 then return false end
	local L = tvb(33, 1):uint()
	if band(tvb(0, 1):uint(), 0xf8) ~= 0 or L < 8 or L > 32 or n ~= 33 + L or
		frame_shaped(tvb, 0) then
		return false
	end
	local dst = tostring(pinfo.dst)
	servers[conn_key(tostring(pinfo.src), pinfo.src_port, dst, pinfo.dst_port)] =
		dst .. "|" .. pinfo.dst_port
	pinfo.conversation = ostp
	ostp.dissector(tvb, pinfo, tree)
	return true
end
ostp:register_heuristic("tcp", heuristic)

local tcp_table = DissectorTable.get("tcp.port")
local registered_ports = ""
local function register_ports()
	if registered_ports ~= "" then tcp_table:remove(registered_ports, ostp) end
	registered_ports = tostring(ostp.prefs.tcp_ports)
	ports = parse_ports(registered_ports)
	if registered_ports ~= "" then tcp_table:add(registered_ports, ostp) end
end
register_ports()
tcp_table:add_for_decode_as(ostp)

function ostp.init()
	conns, servers, frames = {}, {}, {}
	read_keylog(true)
end

function ostp.prefs_changed()
	register_ports()
	contexts = {}
	read_keylog(true)
end
