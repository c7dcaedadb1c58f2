#!/bin/sh
# build.sh — build the libFuzzer targets of tests/fuzz/ with clang.
#
#   tests/fuzz/build.sh [OUTDIR] [TARGET...]
#
# OUTDIR defaults to build-fuzz (relative to the repository root); with no
# TARGET every target is built. Each target is one fuzz_NAME.c plus the
# sources it exercises, compiled with libFuzzer, ASan and UBSan (UBSan
# findings abort, so libFuzzer records them as crashes). Not part of the
# Meson build: the project's compiler need not be clang.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-build-fuzz}
[ $# -gt 0 ] && shift
case $out in /*) ;; *) out=$root/$out ;; esac
targets=${*:-fuzz_line fuzz_tags fuzz_config fuzz_sasl fuzz_cap fuzz_chathistory fuzz_search}

CC=${CC:-clang}
CFLAGS="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -fno-omit-frame-pointer -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
  -Wno-unused-parameter -I$root/src -I$root/tests/fuzz"

common="src/common/str.c src/common/utf8.c src/common/xmalloc.c src/common/log.c \
  src/common/timeutil.c src/common/id.c src/common/b64.c"

# The sources and libraries each target needs.
sources() {
	case $1 in
	fuzz_line | fuzz_tags) echo "src/irc/message.c" ;;
	fuzz_config) echo "src/core/config.c" ;;
	fuzz_sasl) echo "src/chat/password.c src/chat/scram.c src/irc/cmd/args.c src/irc/message.c" ;;
	fuzz_cap | fuzz_chathistory | fuzz_search) echo "src/irc/cmd/args.c src/irc/message.c" ;;
	*) echo "unknown target $1" >&2; exit 2 ;;
	esac
}
libs() {
	case $1 in
	fuzz_config) echo "$(pkg-config --libs inih) $(pkg-config --libs libsodium)" ;;
	fuzz_sasl) echo "$(pkg-config --libs libsodium openssl) -lpthread" ;;
	*) pkg-config --libs libsodium ;;
	esac
}

mkdir -p "$out"
cd "$root"
for t in $targets; do
	echo "building $out/$t"
	# shellcheck disable=SC2046 # word splitting of the lists is wanted
	$CC $CFLAGS $(pkg-config --cflags inih libsodium openssl) -o "$out/$t" \
		"tests/fuzz/$t.c" $(sources "$t") $common $(libs "$t")
done
