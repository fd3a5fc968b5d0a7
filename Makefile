# isobox build. `make` builds into build/ with no network once the packages are
# installed (`make deps` installs them).
CC ?= cc
PREFIX ?= /usr/local
BUILD ?= build
# libarchive is dlopen'ed by import only (engine/archive_dl.c); tests link it.
# libnftables is dlopen'ed by the firewall only (net/nft_dl.c); its headers are used.
PKGS := jansson libseccomp libcap nettle libmnl libmicrohttpd libpcre2-8
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu17 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	  -Isrc $(shell pkg-config --cflags $(PKGS) libarchive libnftables 2>/dev/null)
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

HEADERS := $(wildcard src/*/*.h src/*/*/*.h)
UTIL_SRC := $(wildcard src/util/*.c)
VMM_SRC := $(filter-out src/vmm/main.c,$(wildcard src/vmm/*.c src/vmm/devices/*.c src/fsd/*.c))
LIB_SRC := $(UTIL_SRC) $(wildcard src/engine/*.c src/oci/*.c src/runtime/*.c src/process/*.c src/net/*.c) \
	   $(VMM_SRC)
CLI_SRC := $(wildcard src/cli/*.c src/api/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all install demo check check-unit check-e2e check-hyperv deps fmt lint bench clean fuzz fuzz-check \
	fuzz-check-virtq fuzz-check-exec_mux fuzz-check-manifest fuzz-check-fuse

all: $(BUILD)/isobox $(BUILD)/isobox-runtime $(BUILD)/isobox-runtime-hyperv $(BUILD)/isobox-init $(BUILD)/isobox-vmm

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/isobox: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# runc's command line, for containerd and podman: the same binary by another name.
# isobox-runtime-hyperv defaults to Hyper-V isolation, as crun's krun name does to a VM.
$(BUILD)/isobox-runtime $(BUILD)/isobox-runtime-hyperv: $(BUILD)/isobox
	ln -sf isobox $@

# The VMM links only the VMM and util objects (and what util needs), so its
# own footprint stays small.
# vm_backend.c joins a VM's TAP to the netns's eth0: the net/ objects too.
$(BUILD)/isobox-vmm: $(BUILD)/obj/src/vmm/main.o $(VMM_SRC:%.c=$(BUILD)/obj/%.o) \
		     $(UTIL_SRC:%.c=$(BUILD)/obj/%.o) $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/net/*.c))
	$(CC) $(CFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

# PID 1 of every container: static, so it runs in any image.
$(BUILD)/isobox-init: $(wildcard src/guest/*.c src/guest/*.h) src/util/signal.c src/util/signal.h \
		     src/util/devcg.c src/util/devcg.h src/util/passwd.c src/util/passwd.h \
		     src/util/loopback.c src/util/loopback.h src/util/path_info.c src/util/path_info.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $(filter %.c,$^)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -larchive -lcmocka

# format.c is a CLI object, agent.c and app.c parts of the static isobox-init:
# their tests link them explicitly.
$(BUILD)/tests/test_format: $(BUILD)/obj/src/cli/format.o
$(BUILD)/tests/test_agent: $(BUILD)/obj/src/guest/agent.o $(BUILD)/obj/src/guest/app.o \
			 $(BUILD)/obj/src/guest/update.o $(BUILD)/obj/src/guest/net.o

install: all
	install -D -m 0755 $(BUILD)/isobox $(DESTDIR)$(PREFIX)/bin/isobox
	ln -sf isobox $(DESTDIR)$(PREFIX)/bin/isobox-runtime
	ln -sf isobox $(DESTDIR)$(PREFIX)/bin/isobox-runtime-hyperv
	install -D -m 0755 $(BUILD)/isobox-init $(DESTDIR)$(PREFIX)/libexec/isobox/isobox-init
	install -D -m 0755 $(BUILD)/isobox-vmm $(DESTDIR)$(PREFIX)/libexec/isobox/isobox-vmm
	install -D -m 0755 scripts/kernel-install.sh $(DESTDIR)$(PREFIX)/libexec/isobox/kernel-install.sh
	install -D -m 0755 scripts/make-agent-initramfs.sh \
		$(DESTDIR)$(PREFIX)/libexec/isobox/make-agent-initramfs.sh
	install -D -m 0755 scripts/extract-vmlinux.sh \
		$(DESTDIR)$(PREFIX)/libexec/isobox/extract-vmlinux.sh

deps:
	sh scripts/install-deps.sh

demo: deps
	$(MAKE) all install
	sh scripts/demo.sh

# Every fuzz target is built, so none rots; two of them also run (tests/run.sh).
check: deps
	$(MAKE) all $(UNIT_BIN) $(FUZZ_BIN)
	sh tests/run.sh

check-unit: all $(UNIT_BIN)
	sh tests/run.sh unit

check-e2e: all
	sh tests/run.sh e2e

# The hyperv tests need real KVM: they run inside the test host (QEMU/TCG
# with SVM and nested KVM, see scripts/testhost) whatever this machine has,
# which `make check` also does.
check-hyperv: all
	sh tests/run.sh hyperv

# libFuzzer targets (clang): each runs FUZZ_SECONDS from the seeds and the
# corpus kept in build/fuzz/corpus/; crashes land in build/fuzz/artifacts/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := spec layer user image_needs virtq exec_mux manifest image_load auth_config fuse mount_spec api
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -g -O1 -std=gnu17 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	       -Isrc $(shell pkg-config --cflags $(PKGS) libarchive 2>/dev/null)
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) -larchive

# The virtio target links only what it tests, so `make check` builds it in seconds.
FUZZ_VIRTQ_OBJ := $(patsubst %,$(BUILD)/fuzz/obj/src/%.o,util/err util/fs vmm/kvm vmm/virtq \
		  vmm/virtio_mmio vmm/devices/virtio_blk vmm/devices/virtio_console vmm/devices/virtio_net)
$(BUILD)/fuzz/fuzz_virtq: tests/fuzz/fuzz_virtq.c $(FUZZ_VIRTQ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# The exec channel (and the agent's config and update parsers, guest objects) likewise.
FUZZ_EXEC_MUX_OBJ := $(patsubst %,$(BUILD)/fuzz/obj/src/%.o,util/err util/fs util/devcg \
		     vmm/exec_mux guest/agent guest/update guest/net util/loopback util/passwd)
$(BUILD)/fuzz/fuzz_exec_mux: tests/fuzz/fuzz_exec_mux.c $(FUZZ_EXEC_MUX_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# The manifest parsers likewise.
FUZZ_MANIFEST_OBJ := $(patsubst %,$(BUILD)/fuzz/obj/src/%.o,util/err util/fs util/sha256 \
		     engine/digest engine/kernel_info engine/archive_dl engine/manifest)
$(BUILD)/fuzz/fuzz_manifest: tests/fuzz/fuzz_manifest.c $(FUZZ_MANIFEST_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) -ldl

# docker's config.json likewise.
FUZZ_AUTH_CONFIG_OBJ := $(patsubst %,$(BUILD)/fuzz/obj/src/%.o,util/err util/fs util/base64 engine/auth_config \
			engine/cred_helper)
$(BUILD)/fuzz/fuzz_auth_config: tests/fuzz/fuzz_auth_config.c $(FUZZ_AUTH_CONFIG_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# The virtio-fs file server likewise (its sandbox links libseccomp and libcap).
FUZZ_FUSE_OBJ := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,src/util/err.c $(wildcard src/fsd/*.c))
$(BUILD)/fuzz/fuzz_fuse: tests/fuzz/fuzz_fuse.c $(FUZZ_FUSE_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

# The API's router and list filters (api/router.c, api/filters.c) likewise.
FUZZ_API_OBJ := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(wildcard src/api/*.c)) $(FUZZ_OBJ)
$(BUILD)/fuzz/fuzz_api: tests/fuzz/fuzz_api.c $(FUZZ_API_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) -larchive

fuzz: $(FUZZ_BIN)
	rm -rf $(BUILD)/fuzz/seeds
	python3 tests/fuzz/seeds.py $(BUILD)/fuzz/seeds
	@mkdir -p $(BUILD)/fuzz/artifacts
	@# absolute paths: fuzz_layer changes its working directory
	set -e; f=$(abspath $(BUILD)/fuzz); for t in $(FUZZ_TARGETS); do \
		mkdir -p $$f/corpus/$$t; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=$(CURDIR)/tests/fuzz/$$t.dict; \
		$$f/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 $$dict \
			-artifact_prefix=$$f/artifacts/$$t- $$f/corpus/$$t $$f/seeds/$$t; \
	done

# The bounded runs `make check` does (tests/run.sh), from the seeds and the
# kept corpus: the virtio devices (FUZZ_CHECK_SECONDS) and the exec channel
# (FUZZ_CHECK_EXEC_SECONDS) against a hostile guest, the manifest parsers
# (FUZZ_CHECK_MANIFEST_SECONDS) against a hostile registry, the virtio-fs file
# server (FUZZ_CHECK_FUSE_SECONDS) against a hostile guest, the API's router and
# filters (FUZZ_CHECK_API_SECONDS) against a hostile client. fuzz-check-TARGET runs one.
FUZZ_CHECK_SECONDS ?= 30
FUZZ_CHECK_EXEC_SECONDS ?= 10
FUZZ_CHECK_MANIFEST_SECONDS ?= 10
FUZZ_CHECK_FUSE_SECONDS ?= 10
FUZZ_CHECK_API_SECONDS ?= 10
FUZZ_CHECK_TARGETS := virtq exec_mux manifest fuse api
fuzz-check-virtq: FUZZ_CHECK_TIME = $(FUZZ_CHECK_SECONDS)
fuzz-check-exec_mux: FUZZ_CHECK_TIME = $(FUZZ_CHECK_EXEC_SECONDS)
fuzz-check-manifest: FUZZ_CHECK_TIME = $(FUZZ_CHECK_MANIFEST_SECONDS)
fuzz-check-fuse: FUZZ_CHECK_TIME = $(FUZZ_CHECK_FUSE_SECONDS)
fuzz-check-api: FUZZ_CHECK_TIME = $(FUZZ_CHECK_API_SECONDS)

fuzz-check: $(FUZZ_CHECK_TARGETS:%=fuzz-check-%)

$(FUZZ_CHECK_TARGETS:%=fuzz-check-%): fuzz-check-%: $(BUILD)/fuzz/fuzz_%
	rm -rf $(BUILD)/fuzz/seeds/$*
	python3 tests/fuzz/seeds.py $(BUILD)/fuzz/seeds $*
	@mkdir -p $(BUILD)/fuzz/artifacts $(BUILD)/fuzz/corpus/$*
	$(BUILD)/fuzz/fuzz_$* -max_total_time=$(FUZZ_CHECK_TIME) -timeout=10 \
		-rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=$(BUILD)/fuzz/artifacts/$*- \
		$(BUILD)/fuzz/corpus/$* $(BUILD)/fuzz/seeds/$*

fmt:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c

lint:
	clang-tidy $(LIB_SRC) $(CLI_SRC) -- $(CFLAGS)
	cppcheck --error-exitcode=1 --quiet --enable=warning -Isrc src

bench: all
	sh bench/run-vs-crun.sh
	sh bench/runtime-vs-crun.sh
	sh bench/pull.sh

clean:
	rm -rf $(BUILD)
