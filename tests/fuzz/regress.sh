#!/bin/sh
# regress.sh — replay every seed and regression input once through each
# libFuzzer target (make fuzz-regress).
#
#   tests/fuzz/regress.sh [OUTDIR]
#
# Uses the targets that build.sh put in OUTDIR (default build-fuzz). Every
# file of tests/fuzz/corpus/TARGET and tests/fuzz/regress/TARGET is run
# once; a crash or a failed check makes the script fail. No fuzzing.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-build-fuzz}
case $out in /*) ;; *) out=$root/$out ;; esac
status=0

for t in fuzz_line fuzz_tags fuzz_config fuzz_sasl fuzz_cap fuzz_chathistory fuzz_search; do
	files=$(find "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/regress/$t" -type f \
		! -name '*.md' 2>/dev/null | sort)
	if [ -z "$files" ]; then
		echo "$t: no inputs"
		continue
	fi
	n=$(echo "$files" | wc -l)
	# shellcheck disable=SC2086 # one argument per file (names have no spaces)
	if "$out/$t" -runs=1 $files >"$out/$t.regress.log" 2>&1; then
		echo "$t: $n inputs ok"
	else
		echo "$t: FAILED, see $out/$t.regress.log"
		status=1
	fi
done
exit $status
