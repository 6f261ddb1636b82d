# certrecall - plain GNU make.  `make help` lists the targets.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
CFLAGS  ?= -O2 -g
FUZZ_SECONDS ?= 60

PKGS := openssl libpq libcurl inih libcares jansson zlib libidn2 \
	gmime-3.0 icu-i18n icu-uc opendkim libmicrohttpd

# Recursively expanded: pkg-config runs when a rule needs it, after
# scripts/deps.sh has had its chance to install the -dev packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -pthread
CHECK_LIBS = $(shell pkg-config --cflags --libs check)

WARN      := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wformat-truncation=2
ALL_CFLAGS = $(WARN) $(CFLAGS) -Iinclude $(PKG_CFLAGS) -MMD -MP
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

B := build
LIB_SRC   := $(filter-out src/cmd/main.c,$(wildcard src/*/*.c))
LIB_OBJ   := $(LIB_SRC:src/%.c=$(B)/obj/%.o) $(B)/obj/gen_embedded.o
SAN_OBJ   := $(LIB_SRC:src/%.c=$(B)/asan/obj/%.o) $(B)/asan/obj/gen_embedded.o
MIGRATIONS := $(sort $(wildcard sql/[0-9][0-9][0-9]_*.sql))
TEMPLATES := $(sort $(wildcard templates/*/*.txt templates/*/*.html))
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
SAN_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FORMAT_FILES = $(wildcard src/*/*.c include/certrecall/*/*.h tests/unit/*.[ch] \
	tests/fuzz/*.[ch])

.PHONY: all check demo bench install clean format format-check fuzz deps \
	unit help
.DEFAULT_GOAL := all
# Keep the sanitizer objects between runs (make would delete them as
# intermediates of the test programs).
.SECONDARY:

all: $(B)/certrecall

help:
	@echo "make            build build/certrecall"
	@echo "make check      install deps, build, format check, unit tests"
	@echo "                (plain and ASan/UBSan), integration tests"
	@echo "make demo       install deps, build, run the demo on a throwaway"
	@echo "                PostgreSQL cluster under var/"
	@echo "make bench      run the benchmarks in bench/"
	@echo "make fuzz       run the libFuzzer targets $(FUZZ_SECONDS)s each"
	@echo "make format     apply clang-format"
	@echo "make install    install to \$$(DESTDIR)\$$(PREFIX)"

deps:
	@scripts/deps.sh

$(B)/certrecall: $(B)/obj/cmd/main.o $(B)/libcertrecall.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/libcertrecall.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/asan/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# The SQL migrations and the templates are compiled into the binary.
$(B)/gen/embedded.c: $(MIGRATIONS) $(TEMPLATES) scripts/embed.sh | $(B)/gen
	scripts/embed.sh embedded_migrations $@.1 $(MIGRATIONS)
	scripts/embed.sh embedded_templates $@.2 $(TEMPLATES)
	cat $@.1 $@.2 >$@ && rm -f $@.1 $@.2

$(B)/obj/gen_embedded.o: $(B)/gen/embedded.c | $(B)/obj
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/asan/obj/gen_embedded.o: $(B)/gen/embedded.c | $(B)/asan/obj
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(B)/libcertrecall.a | $(B)/tests
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(B)/libcertrecall.a \
		$(PKG_LIBS) $(CHECK_LIBS)

$(B)/asan/tests/%: tests/unit/%.c $(SAN_OBJ) | $(B)/asan/tests
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Itests/unit -o $@ $< $(SAN_OBJ) \
		$(PKG_LIBS) $(CHECK_LIBS)

$(B)/obj $(B)/asan/obj $(B)/gen $(B)/tests $(B)/asan/tests $(B)/fuzz:
	@mkdir -p $@

unit: $(UNIT_BIN) $(SAN_BIN)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) || \
		{ echo "unformatted code: run 'make format'" >&2; exit 1; }

# The build on every core: on a 2-core machine the serial build of the
# plain and the ASan/UBSan objects was half of `make check`'s time.
check: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory -j$$(nproc) all unit
	tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	bench/run.sh

# libFuzzer needs clang.  Every target links the pure modules
# (PURE_SRC) and the extra sources and pkg-config packages its
# FUZZ_SRC_<what> and FUZZ_PKGS_<what> name; it runs on a corpus under
# build/fuzz seeded from tests/fuzz/seeds-<what>/.
PURE_SRC = $(wildcard src/base/utctime.c src/core/deadline.c \
	src/core/serial.c src/base/errmsg.c src/core/dnsname.c \
	src/core/record*.c src/base/xalloc.c src/core/template.c \
	src/core/compose*.c src/core/pemblock.c src/core/starttls.c \
	src/core/ari.c src/core/webform.c)
FUZZ_PKGS := jansson libidn2 openssl
FUZZ_SRC_certinfo := src/core/certinfo.c
FUZZ_SRC_bounces  := src/core/bounces.c src/base/log.c src/base/clock.c
FUZZ_PKGS_bounces := gmime-3.0
FUZZ_SRC_crl      := src/core/crl.c
FUZZ_SRC_ocsp     := src/core/ocsp.c
FUZZ_SRC_pgarray  := src/store/pgarray.c
FUZZ_SRC_smtpwire := src/core/smtpwire.c
# fuzz_config brings its own silent log_error().
FUZZ_SRC_config   := src/core/config.c src/core/classify.c src/base/xsnprintf.c
FUZZ_PKGS_config  := inih
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN   := $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard src/*/*.c \
		include/certrecall/*/*.h tests/fuzz/*.h) | $(B)/fuzz
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(PURE_SRC) \
		$(FUZZ_SRC_$*) \
		$$(pkg-config --cflags --libs $(FUZZ_PKGS) $(FUZZ_PKGS_$*))

fuzz: deps | $(B)/fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@for what in $(FUZZ_NAMES); do \
		mkdir -p $(B)/fuzz/corpus-$$what; \
		seeds=; [ -d tests/fuzz/seeds-$$what ] && \
			seeds=tests/fuzz/seeds-$$what; \
		echo "fuzz $$what for $(FUZZ_SECONDS)s"; \
		$(B)/fuzz/fuzz_$$what -max_total_time=$(FUZZ_SECONDS) \
			$(B)/fuzz/corpus-$$what $$seeds 2>$(B)/fuzz/$$what.log \
			|| { tail -40 $(B)/fuzz/$$what.log; exit 1; }; \
		tail -1 $(B)/fuzz/$$what.log; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/certrecall \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(B)/certrecall $(DESTDIR)$(PREFIX)/bin/certrecall
	install -m 644 docs/certrecall.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 config.example.ini docs/rules.md \
		$(DESTDIR)$(PREFIX)/share/certrecall/
	# What the man page cites: share/doc/certrecall/notify.md, ...
	install -d $(DESTDIR)$(PREFIX)/share/doc/certrecall
	install -m 644 README.md config.example.ini $(wildcard docs/*.md) \
		$(wildcard docs/*.json) $(DESTDIR)$(PREFIX)/share/doc/certrecall/
	install -d $(DESTDIR)$(PREFIX)/share/doc/certrecall/schema
	install -m 644 $(wildcard docs/schema/*.json) \
		$(DESTDIR)$(PREFIX)/share/doc/certrecall/schema/

clean:
	rm -rf $(B)

-include $(wildcard $(B)/obj/*/*.d $(B)/asan/obj/*/*.d $(B)/tests/*.d \
	$(B)/asan/tests/*.d)
