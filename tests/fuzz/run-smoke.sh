#!/bin/sh
# run-smoke.sh — the CI fuzz run: build every target (build.sh), replay each
# file of tests/fuzz/regressions/<target>/ (every crash found so far), then
# fuzz each target for a bounded number of runs from a copy of its seed
# corpus (the checked-in corpus is never modified). A target fails when a
# regression input or a new input crashes, leaks, hangs or breaks one of
# its invariants; its log and crashing inputs are kept under
# tests/fuzz/out/smoke/<target>/. Prints "N passed, M failed"; exit 1 when
# any target failed.
# Usage: tests/fuzz/run-smoke.sh [TARGET...]
# Environment: FUZZ_RUNS (default 20000), FUZZ_TIME (seconds per target,
# default 30), FUZZ_NO_BUILD=1 to use the binaries already in out/.
set -u

here=$(cd "$(dirname "$0")" && pwd)
out="$here/out"
RUNS=${FUZZ_RUNS:-20000}
TIME=${FUZZ_TIME:-30}
ALL_TARGETS="noise transport config engine_sock uapi ctl_cfg wgconf http_json classify"
targets=${*:-$ALL_TARGETS}

# Abort on the first report, with a stack; leaks are checked per input.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
	# shellcheck disable=SC2086
	"$here/build.sh" $targets || { echo "run-smoke.sh: build failed"; echo "0 passed, 1 failed"; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gate44-fuzz-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
rm -rf "$out/smoke"

pass=0
fail=0
failed=""
for t in $targets; do
	bin="$out/fuzz_$t"
	dir="$work/$t"
	log="$dir/log"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	: >"$log"
	ok=1
	why=""

	if [ ! -x "$bin" ]; then
		ok=0
		why="no binary $bin"
	fi

	# 1. every regression input, one process each so that all are reported
	if [ $ok = 1 ] && [ -d "$here/regressions/$t" ]; then
		for f in "$here/regressions/$t"/*; do
			[ -f "$f" ] || continue
			echo "== regression $f" >>"$log"
			if ! "$bin" -runs=1 "$f" >>"$log" 2>&1; then
				ok=0
				why="$why regression $(basename "$f") crashes;"
				cp "$f" "$dir/artifacts/"
			fi
		done
	fi

	# 2. a bounded fuzz run from the seeds (and the regressions, once fixed)
	if [ $ok = 1 ]; then
		cp "$here/corpus/$t"/* "$dir/corpus/" 2>/dev/null
		[ -d "$here/regressions/$t" ] && cp "$here/regressions/$t"/* "$dir/corpus/" 2>/dev/null
		echo "== fuzz -runs=$RUNS -max_total_time=$TIME" >>"$log"
		if ! "$bin" -runs="$RUNS" -max_total_time="$TIME" -timeout=25 \
			-artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
			"$dir/corpus" >>"$log" 2>&1; then
			ok=0
			why="fuzzing found a crash: $(ls "$dir/artifacts" | head -3 | tr '\n' ' ')"
		fi
	fi

	if [ $ok = 1 ]; then
		pass=$((pass + 1))
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		cov=$(grep -aE '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 |
			sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		echo "PASS fuzz_$t (${execs:-?} execs, cov ${cov:-?})"
	else
		fail=$((fail + 1))
		failed="$failed $t"
		mkdir -p "$out/smoke/$t"
		cp -r "$log" "$dir/artifacts" "$out/smoke/$t/"
		echo "FAIL fuzz_$t:$why"
		echo "     log and inputs: $out/smoke/$t/"
		# the first report: what broke and the frames in our code
		grep -aE 'FUZZ_CHECK failed|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|^ +#[0-9]+ .* in ' \
			"$log" | grep -avE 'fuzzer::|__sanitizer|libc|abort|raise|pthread_kill|_start|main \(' |
			head -8 | sed 's/^ */     /'
	fi
done

echo "$pass passed, $fail failed${failed:+ (failed:$failed)}"
[ "$fail" -eq 0 ]
