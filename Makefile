# libusdt — GNU Make build.
#   make                 libusdt.so (with soname) + libusdt.a + tools
#   make check           build and run the whole test suite (tests/run)
#   make install PREFIX=/usr/local   (also DESTDIR, LIBDIR, INCLUDEDIR, BINDIR, MANDIR)
#   make bench           benchmark programs (see bench/)
# Variables: CC, CFLAGS, EXTRA_CFLAGS, LDFLAGS, SAN (asan|tsan), BUILD.

SHELL := /bin/bash
VERSION_MAJOR := 1
VERSION := 1.0.0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
INCDIR ?= $(INCLUDEDIR)
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BUILD ?= build
# The target architecture, from the compiler (so CC=aarch64-linux-gnu-gcc
# and CC="gcc -m32" pick src/arch/aarch64.* and src/arch/i386.*).
ARCH ?= $(shell printf '%s\n' '#if defined(__x86_64__)' x86_64 '#elif defined(__aarch64__)' aarch64 \
          '#elif defined(__i386__)' i386 '#else' unknown '#endif' | $(CC) $(CFLAGS) -std=c11 -E -P -x c - 2>/dev/null | tr -d ' \n')

CC ?= cc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(SAN),asan)
  CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),tsan)
  CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=thread
endif
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -Iinclude -Isrc
LIB_CFLAGS := $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DUSDT_BUILDING
LIBS := -ldl -lpthread

LIB_SRCS := $(wildcard src/*.c src/linux/*.c src/dof/*.c) src/arch/$(ARCH).c
LIB_ASRCS := $(wildcard src/arch/$(ARCH)_*.S)
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(patsubst %.S,$(BUILD)/obj/%.o,$(LIB_ASRCS))
HDRS := $(wildcard include/*.h src/*.h src/*/*.h)

SONAME := libusdt.so.$(VERSION_MAJOR)
# Exports exactly usdt.h's functions and objects, versioned LIBUSDT_1.0.
VERSION_SCRIPT := src/libusdt.map
SHLIB := $(BUILD)/libusdt.so.$(VERSION)
STLIB := $(BUILD)/libusdt.a

TEST_SRCS := $(wildcard tests/*/t_*.c)
TEST_BINS := $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))
PROG_SRCS := $(wildcard tests/progs/*.c examples/*.c)
PROG_BINS := $(patsubst %.c,$(BUILD)/%,$(PROG_SRCS))
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(BUILD)/bin/%,$(TOOL_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRCS))

.PHONY: all lib check test install uninstall bench bench-smoke clean tests demo deps check-asan check-tsan
all: lib $(TOOL_BINS)
lib: $(SHLIB) $(BUILD)/libusdt.so $(STLIB) $(BUILD)/libusdt.pc

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@
$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(SHLIB): $(LIB_OBJS) $(VERSION_SCRIPT)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(VERSION_SCRIPT) -Wl,-z,noexecstack $(LDFLAGS) -o $@ $(LIB_OBJS) $(LIBS)
$(BUILD)/libusdt.so: $(SHLIB)
	ln -sf libusdt.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libusdt.so.$(VERSION) $@
$(STLIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
# The .pc names the directories of this make's PREFIX/LIBDIR/INCLUDEDIR:
# written again by every make and by every install (never a stale prefix).
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' -e 's|@VERSION@|$(VERSION)|g'
$(BUILD)/libusdt.pc: libusdt.pc.in FORCE
	@mkdir -p $(BUILD)
	$(PC_SED) $< > $@
.PHONY: FORCE
FORCE:

# libusdt 0.x's layout, for bindings that carry libusdt as a git submodule
# and run `make` in it (Devel::DTrace::Provider, ruby-usdt, lua-usdt):
# libusdt.a and usdt.h in the top directory (links into build/, include/).
ifeq ($(BUILD),build)
all: libusdt.a usdt.h
libusdt.a: $(STLIB)
	ln -sf $(STLIB) $@
usdt.h: include/usdt.h
	ln -sf include/usdt.h $@
endif

# Tests, test programs, tools and benchmarks link the static library and may
# include internal headers (src/) to unit-test internal pieces.
$(BUILD)/tests/%: tests/%.c $(STLIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(STLIB) $(LDFLAGS) $(LIBS)
$(BUILD)/examples/%: examples/%.c $(STLIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STLIB) $(LDFLAGS) $(LIBS)
$(BUILD)/bin/%: tools/%.c $(STLIB) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STLIB) $(LDFLAGS) $(LIBS)
# libbenchlib.so: an empty exported function, the floor of a call into a
# shared library. untraced is built twice: linked with libusdt.a, and with
# libusdt.so through the PLT, as pkg-config users, Python and Node get it.
BENCH_LIB := $(BUILD)/bench/libbenchlib.so
$(BENCH_LIB): bench/lib/benchlib.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -fPIC -shared -o $@ $<
$(BUILD)/bench/%: bench/%.c $(STLIB) $(HDRS) $(BENCH_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O2 -DBENCH_LINK='"static"' -o $@ $< $(STLIB) $(LDFLAGS) $(LIBS) -lm \
	    -L$(BUILD)/bench -lbenchlib -Wl,-rpath,$(abspath $(BUILD)/bench)
$(BUILD)/bench/untraced-shared: bench/untraced.c $(SHLIB) $(BUILD)/libusdt.so $(HDRS) $(BENCH_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O2 -DBENCH_LINK='"shared"' -o $@ $< -L$(BUILD) -lusdt $(LDFLAGS) $(LIBS) -lm \
	    -L$(BUILD)/bench -lbenchlib -Wl,-rpath,$(abspath $(BUILD)):$(abspath $(BUILD)/bench)

# Test programs linked with libusdt.so (system-wide tracing attaches to the
# library file): tests/progs_shared/*.c.
SHPROG_SRCS := $(wildcard tests/progs_shared/*.c)
SHPROG_BINS := $(patsubst %.c,$(BUILD)/%,$(SHPROG_SRCS))
$(BUILD)/tests/progs_shared/%: tests/progs_shared/%.c $(SHLIB) $(BUILD)/libusdt.so $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< -L$(BUILD) -lusdt -Wl,-rpath,$(abspath $(BUILD)) $(LDFLAGS) $(LIBS)

tests: lib $(TEST_BINS) $(PROG_BINS) $(SHPROG_BINS) $(TOOL_BINS)
check test: tests
	BUILD=$(BUILD) tests/run

# The whole suite again with the library, tests and test programs built with
# AddressSanitizer+UBSan (leak checking on), and the C tests with
# ThreadSanitizer (clang).
# Packaging and build-system tests (Debian packages, pip, npm, man pages,
# pkg-config, install, header compile checks) build and install their own
# copies and exercise no more library code under ASan: make check runs them.
ASAN_EXCLUDE := bindings/t_deb bindings/t_pip bindings/t_npm_bunyan unit/t_man unit/t_usdt_man unit/t_pkgconfig \
                unit/t_install unit/t_header unit/t_cet_lib
check-asan:
	$(MAKE) SAN=asan BUILD=build-asan tests
	BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    TEST_EXCLUDE="$(ASAN_EXCLUDE)" tests/run
check-tsan:
	$(MAKE) CC=clang SAN=tsan BUILD=build-tsan tests
	BUILD=build-tsan TSAN_OPTIONS=halt_on_error=1 tests/run unit/ hardening/

# ---- other architectures (README "Platforms"); `make deps-arch` first ----
#   make check-aarch64-user  cross-build (build-aarch64), run the C tests
#                            under qemu-aarch64 (binfmt): no tracer there
#   make check-aarch64       that, then the tracer tests in an arm64 VM
#                            (tests/vm/run.sh; image cached in USDT_VM_CACHE)
#   make check-i386          -m32 build (build-i386), C and tracer tests
AARCH64_CC ?= aarch64-linux-gnu-gcc
AARCH64_SYSROOT ?= /usr/aarch64-linux-gnu
I386_CC ?= gcc -m32 -idirafter /usr/include/x86_64-linux-gnu
PORTABLE_C_TESTS := arch/ unit/t_api unit/t_closefds unit/t_compat unit/t_dlclose unit/t_loader_env \
  unit/t_loader_hide unit/t_threads unit/t_tls faults/ leaks/t_cycles hardening/t_fork_storm \
  hardening/t_key_fail hardening/t_release hardening/t_signal_fire hardening/t_stopped_reader \
  hardening/t_twins_inline dof/t_submit unit/t_vm
# the DOF tests with explicit profiles, whose stubs the aarch64 build also
# runs, and the DTrace-on-Linux integration against the helper-device
# double (the i386 build has no DTrace stubs and another data model)
AARCH64_EXTRA_TESTS := dof/t_arm64 dof/t_golden dof/t_negative dof/t_valid dof/t_dump hardening/t_jit_stress \
  dof/t_linux_dtrace dof/t_remove_refused
I386_TESTS := $(PORTABLE_C_TESTS) unit/t_wx hardening/t_membarrier_seccomp security/ \
  tracers/t_bpftrace_args tracers/t_gdb tracers/t_lifecycle tracers/t_fork tracers/t_twins \
  tracers/t_loading tracers/t_closefds_heal tracers/t_many_providers
.PHONY: deps-arch cross-aarch64 check-aarch64-user check-aarch64 check-i386
deps-arch:
	tests/vm/deps.sh
cross-aarch64:
	$(MAKE) CC="$(AARCH64_CC)" BUILD=build-aarch64 tests
check-aarch64-user: cross-aarch64
	QEMU_LD_PREFIX=$(AARCH64_SYSROOT) BUILD=build-aarch64 tests/run $(PORTABLE_C_TESTS) $(AARCH64_EXTRA_TESTS)
check-aarch64: check-aarch64-user
	tests/vm/run.sh
check-i386:
	$(MAKE) CC="$(I386_CC)" BUILD=build-i386 tests
	BUILD=build-i386 tests/run $(I386_TESTS)

demo: lib $(PROG_BINS)
	BUILD=$(BUILD) examples/demo.sh

deps:
	tests/deps.sh

bench: lib $(BENCH_BINS) $(BUILD)/bench/untraced-shared $(PROG_BINS)
	BUILD=$(BUILD) bench/run.sh

# Short runs for CI, so that the benchmarks and fuzzers never rot.
bench-smoke:
	$(MAKE) bench BENCH_SMOKE=1

# The benchmarks of a -m32 build (build-i386-bench; `make deps-arch` first),
# every part that applies to i386 (the test JIT has no i386 half; the
# bindings are 64-bit). aarch64: USDT_VM_BENCH=1 tests/vm/run.sh (arm64 VM).
BENCH_I386_PARTS ?= untraced untraced-shared traced lifecycle grace
BENCH_I386_BUILD ?= build-i386-bench
.PHONY: bench-i386
bench-i386:
	$(MAKE) CC="$(I386_CC)" BUILD=$(BENCH_I386_BUILD) lib $(patsubst $(BUILD)/%,$(BENCH_I386_BUILD)/%,$(BENCH_BINS)) \
	    $(BENCH_I386_BUILD)/bench/untraced-shared
	BUILD=$(BENCH_I386_BUILD) BENCH_ONLY="$(BENCH_I386_PARTS)" BENCH_BINDINGS=0 bench/run.sh

MAN3 := $(wildcard man/*.3)
MAN1 := $(wildcard man/*.1)
install: lib $(TOOL_BINS)
	install -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR) \
	           $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 include/usdt.h $(DESTDIR)$(INCDIR)/usdt.h
	install -m 644 include/usdt_vm.h $(DESTDIR)$(INCDIR)/usdt_vm.h
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libusdt.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libusdt.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libusdt.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	$(PC_SED) libusdt.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libusdt.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/libusdt.pc
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)/
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN3),install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/)
	@# refresh the loader cache so dlopen("libusdt.so.1") finds it (Python's
	@# ctypes binding does); not for staged installs, harmless when not root
	$(if $(DESTDIR),,-ldconfig 2>/dev/null)

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/usdt.h $(DESTDIR)$(INCDIR)/usdt_vm.h $(DESTDIR)$(LIBDIR)/libusdt.so* $(DESTDIR)$(LIBDIR)/libusdt.a $(DESTDIR)$(LIBDIR)/pkgconfig/libusdt.pc
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOL_BINS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))
	$(if $(DESTDIR),,-ldconfig 2>/dev/null)

clean:
	rm -rf $(BUILD)

# libFuzzer targets: fuzz/fuzz_<name>.c, built with clang against the library
# sources themselves (instrumented). Seed corpora live in fuzz/corpus/<name>/.
#   make fuzz              build every target
#   make fuzz-smoke        run each target for FUZZ_SECONDS (default 20)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_BINS)
$(BUILD)/fuzz/%: fuzz/%.c $(LIB_SRCS) $(LIB_ASRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc -Itests -Ifuzz -DUSDT_BUILDING -o $@ $< $(LIB_SRCS) $(LIB_ASRCS) $(LIBS)
fuzz-smoke: fuzz
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/work-$$n; \
	  echo "fuzz $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz/work-$$n fuzz/corpus/$$n 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' ; \
	  test $${PIPESTATUS[0]} -eq 0; done

# ---- robustness tests (issue 5): fault injection, valgrind cycles, fuzzers ----
# tests/faults/t_*.c are linked with --wrap so that every allocation, system
# call and dl* call made from libusdt's objects goes through the test's
# __wrap_* functions (which fail the N-th call on request). `make tests`
# builds them like every other test (TEST_BINS), with these flags added.
FAULT_WRAPS := malloc calloc realloc strdup free memfd_create ftruncate write pwrite fcntl mmap open \
               dlopen dlinfo dlclose
FAULT_LDFLAGS := $(foreach f,$(FAULT_WRAPS),-Wl,--wrap=$(f))
$(BUILD)/tests/faults/%: LDFLAGS += $(FAULT_LDFLAGS)
# t_key_fail makes every pthread key call of the library fail (not under a
# sanitizer: its runtime creates keys before main, through the wrapper too).
ifeq ($(SAN),)
$(BUILD)/tests/hardening/t_key_fail: LDFLAGS += -Wl,--wrap=pthread_setspecific -Wl,--wrap=pthread_key_create
$(BUILD)/tests/hardening/t_key_fail: ALL_CFLAGS += -DT_KEY_WRAPPED
endif
# fuzz_elf_image re-parses every image with libelf.
FUZZ_ELF_LIBS := -lelf
$(BUILD)/fuzz/fuzz_elf_image: LIBS += $(FUZZ_ELF_LIBS)
