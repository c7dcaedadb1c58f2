#!/bin/sh
# run.sh — fuzz each libFuzzer target for a set time (make fuzz).
#
#   tests/fuzz/run.sh [OUTDIR] [SECONDS] [TARGET...]
#
# Runs the targets built by build.sh in OUTDIR (default build-fuzz) one
# after the other, SECONDS each (default 60). New inputs go to
# OUTDIR/corpus/TARGET (the seeds in tests/fuzz/corpus/TARGET are only
# read), crashes to OUTDIR/artifacts/, the output to OUTDIR/TARGET.log. A
# summary line per target gives the runs and executions per second. Exits
# non-zero when a target crashed: minimise the input (README.md) and add
# it to tests/fuzz/regress/TARGET/.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-build-fuzz}
secs=${2:-60}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
case $out in /*) ;; *) out=$root/$out ;; esac
targets=${*:-fuzz_line fuzz_tags fuzz_config fuzz_sasl fuzz_cap fuzz_chathistory fuzz_search}
status=0

# Longest input worth trying per target (the parsers' own limits and a bit).
max_len() {
	case $1 in
	fuzz_line | fuzz_tags) echo 9000 ;;
	fuzz_sasl) echo 8300 ;;
	fuzz_cap) echo 12000 ;;
	fuzz_chathistory | fuzz_search) echo 600 ;;
	*) echo 4096 ;;
	esac
}

mkdir -p "$out/artifacts"
for t in $targets; do
	mkdir -p "$out/corpus/$t"
	if ! "$out/$t" -max_len="$(max_len "$t")" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
		"$out/corpus/$t" "$root/tests/fuzz/corpus/$t" >"$out/$t.log" 2>&1; then
		echo "$t: CRASH, see $out/$t.log and $out/artifacts/$t-*"
		status=1
	fi
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$out/$t.log")
	set -- $runs
	if [ $# -eq 2 ] && [ "$2" -gt 0 ]; then
		echo "$t: $1 runs in $2 s ($(($1 / $2)) exec/s), corpus $(ls "$out/corpus/$t" | wc -l) files"
	fi
done
exit $status
