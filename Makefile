# SPDX-License-Identifier: ISC
#
# ostp build.  Targets: all (default), check, fuzz, fuzz-smoke, valgrind,
# bench, install, deb, check-pkg, clean.  Every source directory is
# picked up by wildcard so adding a file needs no edit here.
#
#   lib/*.c        libostp.a, the protocol core (sans I/O)
#   lib/common/*.c libostpcommon.a, what ostpd and ostpctl share: netlink,
#                  configuration, prefixes, endpoints, keys, text and atomic
#                  files, passwords, the trusted users list, the control
#                  protocol header
#   tund/*.c       ostpd;  ctl/*.c  ostpctl
#
#   make WERROR=1            warnings are errors (CI)
#   make AEAD=sodium         seal and open frames with libsodium instead of
#                            OpenSSL's libcrypto (AEAD=openssl, the default)
#   make check NETNS=0       skip the network-namespace tests
#   make fuzz-smoke FUZZ_SECONDS=60
#
# BUILD is the output directory; `make check` re-enters this Makefile with
# BUILD=build-asan SAN=1 for the sanitizer pass, so both passes share rules.

BUILD        ?= build
PREFIX       ?= /usr/local
DESTDIR      ?=
SBINDIR      ?= $(PREFIX)/sbin
MANDIR       ?= $(PREFIX)/share/man
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 15
NETNS        ?= 1
NETNS_TIMEOUT ?= 600
PKG_CONFIG   ?= pkg-config

PKGS := libsodium libmnl libconfuse

# The AES-256-GCM engine for message frames (lib/aead.h): lib/aead_$(AEAD).c
# is linked, the other is left out.  libcrypto is linked only for OpenSSL,
# which seals and opens frames and does nothing else.
AEAD ?= openssl
ifeq ($(AEAD),openssl)
PKGS += libcrypto
else ifneq ($(AEAD),sodium)
$(error AEAD must be openssl or sodium, not '$(AEAD)')
endif

# Errors are dropped so `make clean` works before the -dev packages exist;
# a missing package then shows up as a compile or link error.
PKG_CFLAGS   := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS     := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
# Linux-PAM (pam_service, tund/pamcheck.c): linked into ostpd and the unit
# tests of its modules only, never into the libraries or ostpctl.
PAM_LIBS     := -lpam

CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror=implicit-function-declaration
ifeq ($(WERROR),1)
WARN    += -Werror
endif
# The sanitizer pass drops _FORTIFY_SOURCE: its checked wrappers hide
# accesses from ASan's interceptors.
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
HARDEN    := -fstack-protector-strong
else
SAN_FLAGS :=
HARDEN    := -fstack-protector-strong -D_FORTIFY_SOURCE=2
endif

OSTP_CFLAGS = -std=c11 -D_GNU_SOURCE $(CFLAGS) $(WARN) -Ilib \
	      $(HARDEN) -pthread $(SAN_FLAGS) $(PKG_CFLAGS)
OSTP_LDFLAGS = -pthread $(SAN_FLAGS) -Wl,-z,relro -Wl,-z,now \
	       -Wl,--as-needed $(LDFLAGS)
DEPFLAGS = -MMD -MP

# ---- sources --------------------------------------------------------------
# Not recursive: lib/common/ is a library of its own, kept out of the core.
LIB_SRCS     := $(filter-out lib/aead_%.c,$(wildcard lib/*.c)) lib/aead_$(AEAD).c
COMMON_SRCS  := $(wildcard lib/common/*.c)
TUND_SRCS    := $(wildcard tund/*.c)
TUND_MOD_SRCS := $(filter-out tund/main.c,$(TUND_SRCS))
CTL_SRCS     := $(wildcard ctl/*.c)
UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
# Other .c files in tests/unit/ are helpers shared by every unit test.
UNIT_HELP_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
NETNS_TESTS  := $(wildcard tests/netns/test_*.sh)
# Run a second time with ostpd and ostpctl built with ASan and UBSan (any
# sanitizer report fails the test).  Not the privilege-drop test: a
# process that changed its uid cannot be traced by LeakSanitizer.
NETNS_SAN_TESTS := $(addprefix tests/netns/,test_ping.sh test_badinput.sh \
	test_gso.sh test_backpressure.sh test_relay.sh test_busypoll.sh \
	test_resilience.sh test_sighup.sh test_halfopen.sh test_ctl_show.sh \
	test_ctl_badinput.sh test_ctl_trust.sh test_ctl_route.sh test_ctl_stall.sh \
	test_mesh_ocs.sh test_mesh_attack.sh)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_OBJS      := $(call obj,$(LIB_SRCS))
COMMON_OBJS   := $(call obj,$(COMMON_SRCS))
TUND_OBJS     := $(call obj,$(TUND_SRCS))
TUND_MOD_OBJS := $(call obj,$(TUND_MOD_SRCS))
CTL_OBJS      := $(call obj,$(CTL_SRCS))
UNIT_OBJS     := $(call obj,$(UNIT_SRCS))
UNIT_HELP_OBJS := $(call obj,$(UNIT_HELP_SRCS))
UNIT_BINS     := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))

LIBOSTP  := $(BUILD)/libostp.a
LIBCOMMON := $(BUILD)/libostpcommon.a
LIBTUND  := $(if $(TUND_MOD_OBJS),$(BUILD)/libtund.a)
LIBTHELP := $(if $(UNIT_HELP_OBJS),$(BUILD)/libtesthelp.a)
OSTPD    := $(if $(wildcard tund/main.c),$(BUILD)/ostpd)
OSTPCTL  := $(if $(wildcard ctl/main.c),$(BUILD)/ostpctl)

.PHONY: all check check-unit fuzz fuzz-smoke valgrind bench bench-core latency vectors \
	install clean unit-bins
.DEFAULT_GOAL := all
# Keep objects that only pattern rules mention (fuzz targets) between runs.
.SECONDARY:

all: $(LIBOSTP) $(OSTPD) $(OSTPCTL)

# ---- compile and link -----------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(OSTP_CFLAGS) $(DEPFLAGS) -c $< -o $@

# The shared library's headers keep their plain names ("config.h",
# "rtnl.h"); the core is compiled without them, so it cannot come to
# depend on them.
$(COMMON_OBJS) $(TUND_OBJS) $(CTL_OBJS): OSTP_CFLAGS += -Ilib/common

# Tests may include daemon and shared-library headers and get Check's flags.
$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(OSTP_CFLAGS) -Itund -Ilib/common -Itests/unit $(CHECK_CFLAGS) $(DEPFLAGS) \
		-c $< -o $@

# The stamp names the engine in an archive: a build directory switched to
# the other engine gets a new stamp, so its archive is rebuilt and every
# program relinked (both engines' objects share one layout, lib/aead.h).
define aead_stamp
	@mkdir -p $(@D)
	@rm -f $(@D)/aead-*.stamp
	@touch $@
endef
$(BUILD)/aead-$(AEAD).stamp:
	$(aead_stamp)

$(LIBOSTP): $(LIB_OBJS) $(BUILD)/aead-$(AEAD).stamp
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

$(LIBCOMMON): $(COMMON_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libtund.a: $(TUND_MOD_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libtesthelp.a: $(UNIT_HELP_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# The daemon gets every module as an object, not through libtund.a, so a
# module that is only reached through a table is never dropped.  The
# shared library and the core come after it: libostpcommon.a calls into
# libostp.a (the trusted users list rules), so that order.
$(BUILD)/ostpd: $(TUND_OBJS) $(LIBCOMMON) $(LIBOSTP)
	$(CC) $(OSTP_LDFLAGS) -o $@ $(TUND_OBJS) $(LIBCOMMON) $(LIBOSTP) $(PKG_LIBS) $(PAM_LIBS)

# ostpctl shares code with the daemon only through libostpcommon.a (and
# the core); nothing of tund/ is on its include path or its link line.
$(BUILD)/ostpctl: $(CTL_OBJS) $(LIBCOMMON) $(LIBOSTP)
	$(CC) $(OSTP_LDFLAGS) -o $@ $(CTL_OBJS) $(LIBCOMMON) $(LIBOSTP) $(PKG_LIBS)

# A unit test links the daemon's modules, the shared library and the core
# as archives, so it gets only what it calls.
$(BUILD)/tests/unit/test_%: $(BUILD)/tests/unit/test_%.o $(LIBTHELP) \
		$(LIBTUND) $(LIBCOMMON) $(LIBOSTP)
	$(CC) $(OSTP_LDFLAGS) -o $@ $< $(LIBTHELP) $(LIBTUND) $(LIBCOMMON) \
		$(LIBOSTP) $(PKG_LIBS) $(PAM_LIBS) $(CHECK_LIBS)

unit-bins: $(UNIT_BINS)

# Client-side tools for the netns tests and benchmarks: load, floods and a
# mesh member, on libostp and libostpcommon (endpoints, identity keys).
# They define _GNU_SOURCE themselves, so it is left off here.
$(BUILD)/flood $(BUILD)/loadgen $(BUILD)/member $(BUILD)/meshdial: $(BUILD)/%: tests/%.c $(LIBCOMMON) $(LIBOSTP)
	$(CC) $(filter-out -D_GNU_SOURCE,$(OSTP_CFLAGS)) -Ilib/common $(OSTP_LDFLAGS) -o $@ $< \
		$(LIBCOMMON) $(LIBOSTP) $(PKG_LIBS)

-include $(patsubst %.o,%.d,$(LIB_OBJS) $(COMMON_OBJS) $(TUND_OBJS) $(CTL_OBJS) \
	$(UNIT_OBJS) $(UNIT_HELP_OBJS))

# ---- tests ----------------------------------------------------------------
# check-unit builds and runs the unit tests of one BUILD and writes
# "PASSED FAILED" to $(BUILD)/unit.result.  Check prints one line
# "NN%: Checks: C, Failures: F, Errors: E" per program; a program that dies
# without that line, or fails after it (a leak report), counts as one failure.
# UNIT_SOFT=1 (used by check) exits 0 anyway: check reports the total.
check-unit:
	@mkdir -p $(BUILD); res=$(BUILD)/unit.result; echo "0 1" > $$res; \
	echo "== unit tests in $(BUILD)/"; \
	if ! $(MAKE) --no-print-directory unit-bins; then \
		echo "FAIL: building the unit tests in $(BUILD)/"; \
		[ "$(UNIT_SOFT)" = 1 ]; exit; \
	fi; \
	pass=0; fail=0; \
	for t in $(UNIT_BINS); do \
		log=$$t.log; \
		"./$$t" > $$log 2>&1; rc=$$?; cat $$log; \
		line=$$(grep -E '^[0-9]+%: Checks: [0-9]+' $$log | tail -n 1); \
		c=$$(echo "$$line" | sed -nE 's/.*Checks: ([0-9]+).*/\1/p'); \
		f=$$(echo "$$line" | sed -nE 's/.*Failures: ([0-9]+).*/\1/p'); \
		e=$$(echo "$$line" | sed -nE 's/.*Errors: ([0-9]+).*/\1/p'); \
		c=$${c:-0}; f=$${f:-0}; e=$${e:-0}; \
		pass=$$((pass + c - f - e)); fail=$$((fail + f + e)); \
		if [ $$rc -ne 0 ] && [ $$((f + e)) -eq 0 ]; then \
			fail=$$((fail + 1)); \
			echo "FAIL: $$t exited with status $$rc"; \
		fi; \
	done; \
	echo "$$pass $$fail" > $$res; \
	echo "== $(BUILD)/: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ] || [ "$(UNIT_SOFT)" = 1 ]

# The summary is the last line printed; it sums unit test cases of both
# passes and one per netns script.
check: all $(BUILD)/flood $(BUILD)/loadgen $(BUILD)/member $(BUILD)/meshdial
	@pass=0; fail=0; \
	add() { set -- $$(cat "$$1" 2>/dev/null || echo "0 1"); \
		pass=$$((pass + $$1)); fail=$$((fail + $$2)); }; \
	$(MAKE) --no-print-directory check-unit BUILD=$(BUILD) UNIT_SOFT=1; \
	add $(BUILD)/unit.result; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:print_summary=1 \
	UBSAN_OPTIONS=print_stacktrace=1 CK_FORK=no \
		$(MAKE) --no-print-directory check-unit BUILD=build-asan SAN=1 \
		CFLAGS="-O1 -g" UNIT_SOFT=1; \
	add build-asan/unit.result; \
	$(MAKE) --no-print-directory check-pkg BUILD=$(BUILD) PKG_SOFT=1; \
	add $(BUILD)/pkg.result; \
	if [ "$(NETNS)" = 0 ]; then \
		echo "== netns tests skipped (NETNS=0)"; \
	elif [ "$$(id -u)" -ne 0 ]; then \
		echo "== netns tests skipped (not root; run 'sudo make check')"; \
	elif [ -z "$(NETNS_TESTS)" ]; then \
		echo "== no netns tests"; \
	else \
		netns_one() { t=$$1; bin=$$2; dir=$$3; tag=$$4; \
			n=$$(basename $$t .sh); log=$$dir/$$n.log; \
			echo "== netns$$tag: $$t"; \
			if ASAN_OPTIONS=detect_leaks=1:log_path=$$dir/reports/$$n \
			   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$$dir/reports/$$n \
			   OSTP_TOP="$(CURDIR)" OSTP_BUILD="$(CURDIR)/$(BUILD)" \
			   OSTPD="$$bin/ostpd" OSTPCTL="$$bin/ostpctl" \
			   timeout -k 10 $(NETNS_TIMEOUT) bash $$t > $$log 2>&1 \
			   < /dev/null && ! ls $$dir/reports/$$n.* > /dev/null 2>&1; then \
				pass=$$((pass + 1)); echo "PASS: $$t$$tag"; \
			else \
				fail=$$((fail + 1)); tail -n 40 $$log; \
				cat $$dir/reports/$$n.* 2> /dev/null | head -n 80; \
				grep -h '] FAIL: ' $$log | head -n 3; \
				echo "FAIL: $$t$$tag (full log: $$log)"; \
			fi; }; \
		dir=$(CURDIR)/$(BUILD)/netns; rm -rf $$dir; mkdir -p $$dir/reports; \
		for t in $(NETNS_TESTS); do \
			netns_one $$t "$(CURDIR)/$(BUILD)" $$dir ""; \
		done; \
		san=$(CURDIR)/build-asan/netns; rm -rf $$san; mkdir -p $$san/reports; \
		chmod 1777 $$san/reports; \
		if ! $(MAKE) --no-print-directory BUILD=build-asan SAN=1 CFLAGS="-O1 -g" \
			build-asan/ostpd build-asan/ostpctl > $$san/build.log 2>&1; then \
			fail=$$((fail + 1)); tail -n 20 $$san/build.log; \
			echo "FAIL: ASan/UBSan build of ostpd and ostpctl"; \
		else for t in $(NETNS_SAN_TESTS); do \
			netns_one $$t "$(CURDIR)/build-asan" $$san " (ASan/UBSan)"; \
		done; fi; \
	fi; \
	echo "$$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

valgrind: unit-bins
	@fail=0; \
	for t in $(UNIT_BINS); do \
		echo "== valgrind $$t"; \
		CK_FORK=no valgrind -q --error-exitcode=1 --leak-check=full --child-silent-after-fork=yes \
			"./$$t" || { fail=1; echo "FAIL: $$t under valgrind"; }; \
	done; \
	[ $$fail -eq 0 ] && echo "valgrind: all clean"; [ $$fail -eq 0 ]

# ---- fuzzing --------------------------------------------------------------
FUZZ_BUILD  := build-fuzz
FUZZ_FLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -Ilib -pthread \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	       -fno-omit-frame-pointer \
	       -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_BUILD)/aead-$(AEAD).stamp:
	$(aead_stamp)

$(FUZZ_BUILD)/libostp.a: $(FUZZ_LIB_OBJS) $(FUZZ_BUILD)/aead-$(AEAD).stamp
	rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libostp.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS)

-include $(patsubst %.c,$(FUZZ_BUILD)/%.d,$(LIB_SRCS) $(FUZZ_SRCS))

# fuzz_ctl runs the daemon's own control request parser, so it links that
# parser and the shared modules it calls, compiled with the fuzz flags.
FUZZ_CTL_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,tund/ctlreq.c \
	lib/common/keycheck.c lib/common/prefix.c lib/common/endpoint.c)
$(FUZZ_BUILD)/tests/fuzz/fuzz_ctl.o: FUZZ_FLAGS += -Itund -Ilib/common
$(FUZZ_CTL_OBJS): FUZZ_FLAGS += -Ilib/common
$(FUZZ_BUILD)/fuzz_ctl: $(FUZZ_BUILD)/tests/fuzz/fuzz_ctl.o $(FUZZ_CTL_OBJS) \
		$(FUZZ_BUILD)/libostp.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS)
-include $(FUZZ_CTL_OBJS:.o=.d)

fuzz: $(FUZZ_BINS)

# Each target starts from its own corpus plus every test vector, and keeps
# what it finds in build-fuzz/corpus/NAME for the next run.
fuzz-smoke: fuzz
	@fail=0; \
	for b in $(FUZZ_BINS); do \
		n=$$(basename $$b); c=$(FUZZ_BUILD)/corpus/$$n; \
		a=$(FUZZ_BUILD)/artifacts/$$n; mkdir -p $$c $$a; \
		if [ -d tests/fuzz/corpus/$$n ]; then \
			cp -r tests/fuzz/corpus/$$n/. $$c/; fi; \
		if [ -d tests/vectors ]; then \
			find tests/vectors -type f | while read -r v; do \
				cp "$$v" "$$c/vec_$$(echo "$$v" | tr / _)"; \
			done; fi; \
		echo "== fuzz $$n for $(FUZZ_SECONDS)s"; \
		if ! UBSAN_OPTIONS=print_stacktrace=1 $$b \
			-max_total_time=$(FUZZ_SECONDS) -timeout=25 \
			-print_final_stats=1 -artifact_prefix=$$a/ $$c \
			> $$a/log 2>&1; then \
			fail=1; tail -n 60 $$a/log; \
			echo "FAIL: $$n crashed; reproducer in $$a/"; \
		else \
			grep -E '^(stat::number_of_executed_units|#[0-9]+ +DONE)' \
				$$a/log || true; \
		fi; \
	done; \
	[ $$fail -eq 0 ] && echo "fuzz-smoke: no crashes"; [ $$fail -eq 0 ]

# ---- misc -----------------------------------------------------------------
bench: all
	@if [ -x scripts/bench ]; then scripts/bench; \
	elif [ -f scripts/bench ]; then sh scripts/bench; \
	else echo "no scripts/bench yet"; fi

# per-hop timing of an idle ping through the tunnel (needs tcpdump)
latency: all
	scripts/latency

# the protocol core alone, next to raw libsodium and raw OpenSSL on the
# same buffers
bench-core:
	AEAD=$(AEAD) scripts/bench-core

# regenerate the known-answer vectors (only when the wire format changes
# on purpose: docs/PROTOCOL.md must say so)
$(BUILD)/gen_vectors: tests/vectors/gen_vectors.c tests/vectors/vec_scenarios.h \
		tests/unit/pair.h $(BUILD)/libostp.a
	$(CC) $(OSTP_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libostp.a $(PKG_LIBS)
vectors: $(BUILD)/gen_vectors
	./$(BUILD)/gen_vectors tests/vectors tests/fuzz/corpus

install: all
	install -d $(DESTDIR)$(SBINDIR)
	$(if $(OSTPD),install -m 0755 $(OSTPD) $(DESTDIR)$(SBINDIR)/ostpd)
	$(if $(OSTPCTL),install -m 0755 $(OSTPCTL) $(DESTDIR)$(SBINDIR)/ostpctl)
	$(if $(wildcard docs/*.5),install -d $(DESTDIR)$(MANDIR)/man5)
	$(if $(wildcard docs/*.5),install -m 0644 $(wildcard docs/*.5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(wildcard docs/*.8),install -d $(DESTDIR)$(MANDIR)/man8)
	$(if $(wildcard docs/*.8),install -m 0644 $(wildcard docs/*.8) $(DESTDIR)$(MANDIR)/man8/)

# bash completion of ostpctl, under the command's name: bash-completion
# looks the file up there the first time ostpctl is completed.
BASHCOMPDIR  ?= $(PREFIX)/share/bash-completion/completions
.PHONY: install-completion
install: install-completion
install-completion:
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 etc/bash-completion/ostpctl $(DESTDIR)$(BASHCOMPDIR)/ostpctl

# ---- shared library, install and Debian package ---------------------------
# libostp.so is the core for other programs: the public API of lib/ostp.h
# and nothing else (the version script is made from the header, so a
# function declared there is exported and an internal one never is).
# ostpd, ostpctl and the tests keep linking libostp.a: they are tested as
# they are built, without an installed library, and cannot load a core
# of another version.
VERSION      := 0.1
SOVERSION    := 1
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SHLIB_PKGS   := libsodium $(if $(filter openssl,$(AEAD)),libcrypto)
SHLIB_LIBS   := $(shell $(PKG_CONFIG) --libs $(SHLIB_PKGS) 2>/dev/null)
SHLIB_OBJS   := $(patsubst %.c,$(BUILD)/pic/%.o,$(LIB_SRCS))
SHLIB        := $(BUILD)/libostp.so.$(SOVERSION).0.0

.PHONY: install-lib deb check-pkg
all: $(SHLIB)
install: install-lib

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(OSTP_CFLAGS) -fPIC $(DEPFLAGS) -c $< -o $@
-include $(SHLIB_OBJS:.o=.d)

$(BUILD)/libostp.map: lib/ostp.h
	@mkdir -p $(@D)
	{ echo 'LIBOSTP_$(SOVERSION) {'; echo 'global:'; \
	  $(CC) -E -P -x c lib/ostp.h | grep -oE '\bostp_[a-z0-9_]+ *\(' | \
		tr -d ' (' | sort -u | sed 's/.*/	&;/'; \
	  echo 'local: *;'; echo '};'; } > $@.tmp && mv $@.tmp $@

$(SHLIB): $(SHLIB_OBJS) $(BUILD)/libostp.map $(BUILD)/aead-$(AEAD).stamp
	$(CC) -shared $(OSTP_LDFLAGS) -Wl,-z,defs -Wl,-soname,libostp.so.$(SOVERSION) \
		-Wl,--version-script=$(BUILD)/libostp.map -o $@ $(SHLIB_OBJS) $(SHLIB_LIBS)
	ln -sf $(@F) $(BUILD)/libostp.so.$(SOVERSION)
	ln -sf libostp.so.$(SOVERSION) $(BUILD)/libostp.so

# The pkg-config file is made here, not at build time: it names the
# directories of this install (PREFIX, LIBDIR, INCLUDEDIR).
install-lib: $(SHLIB)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	install -m 0644 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/libostp.so.$(SOVERSION)
	ln -sf libostp.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libostp.so
	install -m 0644 lib/ostp.h $(DESTDIR)$(INCLUDEDIR)/ostp.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@REQUIRES_PRIVATE@|$(SHLIB_PKGS)|' lib/libostp.pc.in > $(BUILD)/libostp.pc
	install -m 0644 $(BUILD)/libostp.pc $(DESTDIR)$(PKGCONFIGDIR)/libostp.pc
	install -m 0644 docs/libostp.3 $(DESTDIR)$(MANDIR)/man3/libostp.3

# make deb: one package, ostp, built with dpkg-deb from a staged install
# (scripts/debian/ has the control files; the .deb lands in $(BUILD)/).
deb: all
	rm -rf $(BUILD)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(BUILD))/deb/debian/ostp \
		PREFIX=/usr LIBDIR=/usr/lib/$$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
	scripts/debian/mkdeb $(BUILD)/deb/debian/ostp $(VERSION) $(BUILD)

# Installs into a throwaway directory and builds a program against it;
# builds the package, checks it with lintian and installs, runs and
# purges it in a throwaway root (root only).  Writes "PASSED FAILED" to
# $(BUILD)/pkg.result; PKG_SOFT=1 (used by check) exits 0 anyway.
check-pkg: all
	@pass=0; fail=0; dir=$(BUILD)/pkgtest; rm -rf $$dir; mkdir -p $$dir; \
	echo "0 1" > $(BUILD)/pkg.result; \
	for t in tests/install/test_*.sh; do \
		n=$$(basename $$t .sh); \
		echo "== $$t"; \
		OSTP_TOP="$(CURDIR)" OSTP_BUILD="$(abspath $(BUILD))" OSTP_AEAD=$(AEAD) \
			timeout -k 10 $(NETNS_TIMEOUT) bash $$t > $$dir/$$n.log 2>&1 < /dev/null; \
		rc=$$?; \
		if [ $$rc -eq 0 ]; then pass=$$((pass + 1)); echo "PASS: $$t"; \
		elif [ $$rc -eq 77 ]; then tail -n 1 $$dir/$$n.log; \
		else fail=$$((fail + 1)); tail -n 40 $$dir/$$n.log; \
			echo "FAIL: $$t (full log: $$dir/$$n.log)"; fi; \
	done; \
	echo "$$pass $$fail" > $(BUILD)/pkg.result; \
	[ $$fail -eq 0 ] || [ "$(PKG_SOFT)" = 1 ]

clean:
	rm -rf build build-asan build-fuzz build-sodium $(BUILD)
