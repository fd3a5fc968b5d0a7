# isobox build. `make` builds into build/ with no network once the packages are
# installed (`make deps` installs them).
CC ?= cc
PREFIX ?= /usr/local
BUILD ?= build
# libarchive is dlopen'ed by import only (engine/archive_dl.c); tests link it.
PKGS := jansson libseccomp libcap nettle
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu17 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	  -Isrc $(shell pkg-config --cflags $(PKGS) libarchive 2>/dev/null)
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

UTIL_SRC := $(wildcard src/util/*.c)
LIB_SRC := $(UTIL_SRC) $(wildcard src/engine/*.c src/oci/*.c src/runtime/*.c src/process/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all install demo check check-unit check-e2e deps fmt lint bench clean

all: $(BUILD)/isobox $(BUILD)/isobox-init

$(BUILD)/obj/%.o: %.c $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/isobox: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# PID 1 of every container: static, so it runs in any image.
$(BUILD)/isobox-init: src/guest/init.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -larchive -lcmocka

install: all
	install -D -m 0755 $(BUILD)/isobox $(DESTDIR)$(PREFIX)/bin/isobox
	install -D -m 0755 $(BUILD)/isobox-init $(DESTDIR)$(PREFIX)/libexec/isobox/isobox-init

deps:
	sh scripts/install-deps.sh

demo: deps
	$(MAKE) all install
	sh scripts/demo.sh

check: deps
	$(MAKE) all $(UNIT_BIN)
	sh tests/run.sh

check-unit: all $(UNIT_BIN)
	sh tests/run.sh unit

check-e2e: all
	sh tests/run.sh e2e

fmt:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c

lint:
	clang-tidy $(LIB_SRC) $(CLI_SRC) -- $(CFLAGS)
	cppcheck --error-exitcode=1 --quiet --enable=warning -Isrc src

bench: all
	sh bench/run-vs-crun.sh

clean:
	rm -rf $(BUILD)
