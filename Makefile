# tidepool — build, test, bench, install.
#
# Every module folder is a static library; its .c files are found by wildcard,
# so adding a module file or a test needs no edit here.  A build variant
# (release, asan, tsan, rtsan) is a separate tree under build/VARIANT, made by
# calling this Makefile again with VARIANT set.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR ?= $(PREFIX)/share/doc/tidepool
DESTDIR ?=

VARIANT ?= release
B := build/$(VARIANT)
FUZZ_SECONDS ?= 60

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wundef -Werror
PKGS := portaudio-2.0 sndfile ck inih libcjson soxr libsystemd alsa libmicrohttpd fftw3f

ifeq ($(VARIANT),release)
CC := gcc
OPT := -O2 -g
else ifeq ($(VARIANT),asan)
CC := gcc
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
else ifeq ($(VARIANT),tsan)
CC := clang-22
OPT := -O1 -g -fsanitize=thread
else ifeq ($(VARIANT),rtsan)
# clang checks at compile time that nothing marked TP_REALTIME calls
# anything not so marked; RealtimeSanitizer checks again at run time.
CC := clang-22
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=realtime -Wfunction-effects
else ifeq ($(VARIANT),rtsan-planted)
# The same as rtsan with one malloc planted in the callback: the test that
# proves RealtimeSanitizer would catch a real one.  Without
# -Wfunction-effects, which would refuse to compile it (see rtsan.sh).
CC := clang-22
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=realtime \
	-DTP_PLANT_MALLOC_IN_CALLBACK
else ifeq ($(VARIANT),fuzz)
CC := clang-22
OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined
else
$(error unknown VARIANT '$(VARIANT)')
endif

CPPFLAGS += -I. -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS += -std=c11 -pthread $(OPT) $(WARN)
LDFLAGS += -pthread $(filter -fsanitize=%,$(OPT))
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

MODULES := rtpool dsp config daemon
MAINS := daemon/tidepoold.c daemon/tidepoolctl.c daemon/tidepool-render.c
PROGRAMS := $(patsubst daemon/%.c,$(B)/%,$(wildcard $(MAINS)))

lib_srcs = $(filter-out $(MAINS),$(wildcard $(1)/*.c))
lib_objs = $(patsubst %.c,$(B)/obj/%.o,$(call lib_srcs,$(1)))
# Link order: each library before the ones it depends on.
LIBS := $(foreach m,daemon dsp config rtpool,$(B)/lib$(m).a)

UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
STRESS_TESTS := $(patsubst tests/stress/%.c,$(B)/tests/%,$(wildcard tests/stress/stress_*.c))
BENCHES := $(patsubst tests/bench/%.c,$(B)/bench/%,$(wildcard tests/bench/bench_*.c))
FAULTS := $(patsubst tests/fault/%.c,$(B)/fault/%.so,$(wildcard tests/fault/*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
HEADERS := $(wildcard $(addsuffix /*.h,$(MODULES)))

.PHONY: all programs tests benches fuzzers test run bench install clean \
	deps headers profile fuzz soak
all: programs
programs: $(PROGRAMS)
tests: $(UNIT_TESTS) $(STRESS_TESTS) $(FAULTS) programs
benches: $(BENCHES) programs

$(B)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

define module_rule
$(B)/lib$(1).a: $(call lib_objs,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(if $$^,ar rcs $$@ $$^,ar rc $$@)
endef
$(foreach m,$(MODULES),$(eval $(call module_rule,$(m))))

$(B)/%: $(B)/obj/daemon/%.o $(LIBS)
	$(CC) $(LDFLAGS) $< $(LIBS) $(LDLIBS) -o $@

# A test or benchmark named after a lower layer (test_rtpool_*, stress_dsp_*,
# bench_config_*) links that layer's library alone, which keeps each layer
# testable by itself; any other links them all.
test_module = $(word 2,$(subst _, ,$(basename $(notdir $(1)))))
test_libs = $(if $(filter rtpool dsp config,$(call test_module,$(1))),$(B)/lib$(call test_module,$(1)).a,$(LIBS))
define test_rule
$(2): $(B)/obj/$(basename $(1)).o $(call test_libs,$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) $(3) -o $$@
endef
$(foreach t,$(wildcard tests/unit/test_*.c),$(eval $(call test_rule,$(t),$(B)/tests/$(basename $(notdir $(t))),-lcmocka)))
$(foreach t,$(wildcard tests/stress/stress_*.c),$(eval $(call test_rule,$(t),$(B)/tests/$(basename $(notdir $(t))))))
$(foreach t,$(wildcard tests/bench/bench_*.c),$(eval $(call test_rule,$(t),$(B)/bench/$(basename $(notdir $(t))))))

# A fault to inject with LD_PRELOAD (tests/fault): a library of its own.
$(B)/fault/%.so: tests/fault/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -shared $< -o $@ -ldl

# A fuzz target links every library (its input crosses layers: a config
# becomes a chain) and libFuzzer's main; only VARIANT=fuzz builds them.
fuzzers: $(FUZZERS)
$(B)/fuzz/%: $(B)/obj/tests/fuzz/%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

# Every public header compiles on its own, pedantic.
headers:
	@for h in $(HEADERS); do \
		printf "#include \"%s\"\ntypedef int tp_header_check;\n" "$$h" | $(CC) $(CPPFLAGS) -std=c11 -pedantic \
		    $(WARN) -x c -fsyntax-only - || exit 1; \
	done

deps:
	@sh tests/deps.sh

# The one test command: installs what is missing, builds every variant the
# suite needs, runs everything, and ends with "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory -s headers
	@$(MAKE) --no-print-directory -s tests VARIANT=release
	@$(MAKE) --no-print-directory -s tests VARIANT=asan
	@$(MAKE) --no-print-directory -s tests VARIANT=tsan
	@$(MAKE) --no-print-directory -s programs VARIANT=rtsan
	@$(MAKE) --no-print-directory -s programs VARIANT=rtsan-planted
	@$(MAKE) --no-print-directory -s fuzzers VARIANT=fuzz
	@sh tests/run.sh

# Each fuzz target for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=3600), from its
# committed seeds and what earlier runs found (build/fuzz-corpus).
fuzz: deps
	@$(MAKE) --no-print-directory -s fuzzers VARIANT=fuzz
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

run: deps
	@$(MAKE) --no-print-directory -s programs
	@sh tests/run-daemon.sh

bench:
	@sh tests/deps.sh --bench
	@$(MAKE) --no-print-directory -s benches
	@sh tests/bench/run.sh

# Ten minutes of the daemon under a hammering client and play/stop cycling
# (SOAK_SECONDS to change), then a render past 4 GiB (RF64); not part of
# make test.
soak: deps
	@$(MAKE) --no-print-directory -s programs
	@sh tests/soak.sh; s=$$?; sh tests/rf64.sh && exit $$s

# Breaks the code on purpose, one mutation of tests/mutate/list at a time in
# a scratch copy, and runs the test that must catch each; not part of make
# test.  M=NAME runs one mutation, T=TEST those of one test.
.PHONY: mutate
mutate: deps
	@sh tests/mutate/run.sh $(if $(T),-t $(T)) $(M)

profile:
	@sh tests/deps.sh --bench
	@$(MAKE) --no-print-directory -s programs
	@sh tests/bench/profile.sh

# The programs, the default config (kept if one is there, and checked with
# tidepoold --check either way), the examples, the systemd unit with its
# sysusers and tmpfiles entries, the man pages.
install: programs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/tidepool \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(BINDIR)
	test -e $(DESTDIR)$(SYSCONFDIR)/tidepool/tidepool.conf || \
	    install -m 0644 config/tidepool.conf \
	    $(DESTDIR)$(SYSCONFDIR)/tidepool/tidepool.conf
	install -m 0644 config/examples/*.conf config/examples/*.wav \
	    $(DESTDIR)$(DOCDIR)/examples
	@# The config a reload would load (a kept one too) must load and build.
	@for f in $(DESTDIR)$(SYSCONFDIR)/tidepool/tidepool.conf \
	    config/examples/*.conf; do \
		$(B)/tidepoold --check -c "$$f" >/dev/null || exit 1; \
	done
	sed -e 's|/usr/local/bin|$(BINDIR)|' \
	    -e 's|/etc/tidepool|$(SYSCONFDIR)/tidepool|' \
	    systemd/tidepoold.service >$(DESTDIR)$(UNITDIR)/tidepoold.service
	install -m 0644 systemd/tidepool.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/tidepool.conf
	install -m 0644 systemd/tidepool.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/tidepool.conf
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0644 daemon/tidepoolctl.1 daemon/tidepool-render.1 \
	    $(DESTDIR)$(MANDIR)/man1
	install -m 0644 config/tidepool.conf.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 daemon/tidepoold.8 $(DESTDIR)$(MANDIR)/man8

clean:
	rm -rf build
