# pchat — the Makefile only wraps Meson and Ninja (and installs what is missing).
#
#   make          build build/pchatd and build/pchatctl
#   make run      build and start pchatd on its embedded default
#   make check    build under ASan/UBSan and run every test + format check
#   make bench    run the benchmarks and print the figures
#   make soak     30 min of mixed load on build/pchatd: RSS and fds stay flat (bench/soak.sh)
#   make deps     install missing Debian packages (apt-get, as root)
#   make format   reformat the C sources with clang-format
#   make valgrind the unit and SQLite store tests under valgrind (memcheck)

BUILD      ?= build
SANBUILD   ?= build-san
PYTHON     ?= /usr/bin/python3
DEB_PKGS   := build-essential meson ninja-build pkg-config libevent-dev libssl-dev \
              libsqlite3-dev sqlite3 libsodium-dev libxml2-dev libxml2-utils libjansson-dev libinih-dev \
              libcmocka-dev python3-pytest clang-format openssl weechat-headless tmux ii irssi \
              clang libclang-rt-14-dev libpq-dev postgresql-15 postgresql-client-15 valgrind
C_SOURCES   = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]')

.PHONY: all build run check unit integration format-check format deps bench-deps bench clean fuzz fuzz-regress \
        valgrind soak

all: build

# The peers and tools of the benchmarks (make bench, make soak) only.
BENCH_PKGS := ngircd inspircd gnuplot-nox

deps:
	@$(call install_missing,$(DEB_PKGS))

bench-deps:
	@$(call install_missing,$(BENCH_PKGS))

# install_missing PACKAGES: apt-get install those not installed yet (root only)
define install_missing
	missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) --buildtype=debugoptimized

$(SANBUILD)/build.ninja: | deps
	meson setup $(SANBUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	$(BUILD)/pchatd

unit: $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)
	meson test -C $(SANBUILD) --print-errorlogs

# The integration suite runs twice: on SQLite, then with every server on a
# database of a throw-away PostgreSQL 15 cluster (tests/pg/pgtmp.sh).
integration: $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)
	PCHAT_BUILD=$(abspath $(SANBUILD)) $(PYTHON) -m pytest -q tests/integration
	PCHAT_TEST_DB=postgresql PCHAT_BUILD=$(abspath $(SANBUILD)) $(PYTHON) -m pytest -q tests/integration

check: format-check unit integration fuzz-regress

format-check: | deps
	@bad=""; for f in $(C_SOURCES); do \
	  clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then echo "not clang-formatted (run 'make format'):$$bad" >&2; exit 1; fi; \
	echo "format: ok"

format:
	clang-format -i $(C_SOURCES)

# The side-by-side run (pchatd, ngIRCd, InspIRCd: bench/results/RESULTS.md
# and its charts), then pchatd's own figures of each issue.
bench: build bench-deps
	bench/compare.sh $(abspath $(BUILD))
	bench/run.sh $(abspath $(BUILD)) --no-rooms
	bench/run_compliance.sh $(abspath $(BUILD))
	bench/run_pool.sh $(abspath $(BUILD))
	bench/run_failover.sh $(abspath $(BUILD))

# Not part of check: SOAK_MINUTES of mixed load on one pchatd (bench/soak.sh),
# written to bench/results/SOAK.md and soak.png.
SOAK_MINUTES ?= 30
soak: build
	@$(call install_missing,gnuplot-nox)
	bench/soak.sh $(abspath $(BUILD)) --minutes $(SOAK_MINUTES)

# valgrind needs a build without the sanitizers; the PostgreSQL suites run
# through a shell wrapper (tests/pg/run_contract.sh) and are left out.
VGBUILD    ?= build-vg
VG_TESTS   := common message config rules password net compliance store-sqlite \
              store-sqlite-only store-bus-sqlite
valgrind: | deps
	[ -f $(VGBUILD)/build.ninja ] || meson setup $(VGBUILD) --buildtype=debug
	ninja -C $(VGBUILD)
	meson test -C $(VGBUILD) --print-errorlogs --timeout-multiplier=10 \
	  --wrap='valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q' \
	  $(VG_TESTS)

clean:
	rm -rf $(BUILD) $(SANBUILD) $(VGBUILD)

# libFuzzer targets (tests/fuzz/README.md): clang, outside the Meson build.
FUZZBUILD    ?= build-fuzz
FUZZ_SECONDS ?= 60

fuzz: | deps
	tests/fuzz/build.sh $(FUZZBUILD)
	tests/fuzz/run.sh $(FUZZBUILD) $(FUZZ_SECONDS)

fuzz-regress: | deps
	tests/fuzz/build.sh $(FUZZBUILD)
	tests/fuzz/regress.sh $(FUZZBUILD)
