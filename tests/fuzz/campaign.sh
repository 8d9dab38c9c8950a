#!/bin/sh
# campaign.sh — a longer fuzzing campaign: every target (or those named)
# for DURATION_S seconds each, in libFuzzer's fork mode so that a crash is
# recorded and fuzzing goes on past it. The growing corpus of each target
# lives in tests/fuzz/corpus-work/<target>/ (not committed; seeded from
# corpus/ and regressions/, kept between campaigns); crashing inputs and
# logs go to tests/fuzz/out/campaign/<target>/. Writes tests/fuzz/REPORT.md:
# per target the executions, coverage (cov/ft of libFuzzer's last stats
# line), corpus size and crashes (inputs, and unique causes after replaying
# each one), with the date, machine and source revision.
# Usage: tests/fuzz/campaign.sh DURATION_S [TARGET...]
# Environment: FUZZ_JOBS (parallel fuzzing processes per target, default
# 1), FUZZ_NO_BUILD=1 to use the binaries already in out/.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/out"
ALL_TARGETS="noise transport config engine_sock uapi ctl_cfg wgconf http_json classify"

if [ $# -lt 1 ] || ! [ "$1" -gt 0 ] 2>/dev/null; then
	echo "usage: $0 DURATION_S [TARGET...]" >&2
	exit 2
fi
duration=$1
shift
targets=${*:-$ALL_TARGETS}
jobs=${FUZZ_JOBS:-1}

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
	# shellcheck disable=SC2086
	"$here/build.sh" $targets || exit 1
fi

# What broke, in one line, from the output of replaying one input.
signature() {
	sed -n -e 's|'"$root"'/||g' \
		-e 's/^.*\(FUZZ_CHECK failed: .*\)$/&/p' \
		-e 's/^\(.*runtime error: .*\)$/UBSan: \1/p' \
		-e 's/^.*ERROR: \(AddressSanitizer: [a-z-]*\).*/\1/p' \
		-e 's/^.*ERROR: \(LeakSanitizer\): .*/\1: memory leak/p' \
		-e 's/^.*ERROR: libFuzzer: \(timeout\|out-of-memory\).*/libFuzzer: \1/p' |
		head -1
}

# The first frame of our code under a sanitizer report.
first_frame() {
	grep -aE '^ +#[0-9]+ .* in ' | grep -avE 'fuzzer::|__sanitizer|__asan|__ubsan|__interceptor|__lsan|libc|abort|raise|pthread_kill|malloc|calloc|realloc|strdup|/usr/' |
		head -1 | sed -e 's|'"$root"'/||g' -e 's/^ *#[0-9]* 0x[0-9a-f]* in //'
}

rows=""
regs=""
details=""
total_crashes=0
for t in $targets; do
	bin="$out/fuzz_$t"
	corpus="$here/corpus-work/$t"
	art="$out/campaign/$t"
	log="$out/campaign/$t.log"
	rm -rf "$art"
	mkdir -p "$corpus" "$art"
	cp -n "$here/corpus/$t"/* "$corpus/" 2>/dev/null
	[ -d "$here/regressions/$t" ] && cp -n "$here/regressions/$t"/* "$corpus/" 2>/dev/null

	# Every crash found so far, replayed once against today's code.
	for f in "$here/regressions/$t"/*; do
		[ -f "$f" ] || continue
		if timeout 60 "$bin" -runs=1 "$f" >/dev/null 2>&1; then
			st="passes (fixed)"
		else
			st="**crashes**"
		fi
		regs="$regs| fuzz_$t | \`regressions/$t/$(basename "$f")\` | $st |
"
	done

	echo "campaign.sh: fuzz_$t for ${duration}s ($jobs job(s))"
	"$bin" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-max_total_time="$duration" -timeout=25 -artifact_prefix="$art/" \
		"$corpus" >"$log" 2>&1

	stats=$(grep -aE '^#[0-9]+: cov: ' "$log" | tail -1)
	execs=$(printf '%s\n' "$stats" | sed -n 's/^#\([0-9]*\):.*/\1/p')
	cov=$(printf '%s\n' "$stats" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$stats" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	files=$(find "$corpus" -type f | wc -l)
	kib=$(( $(find "$corpus" -type f -exec cat {} + | wc -c) / 1024 ))
	rate=$(( ${execs:-0} / duration ))

	# Replay every crashing input once to name its cause.
	n=0
	sigs=""
	for a in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*; do
		[ -f "$a" ] || continue
		n=$((n + 1))
		res=$(timeout 60 "$bin" -runs=1 "$a" 2>&1)
		sig=$(printf '%s\n' "$res" | signature)
		frame=$(printf '%s\n' "$res" | first_frame)
		sigs="$sigs${sig:-unknown} @ ${frame:-?}	$(basename "$a")
"
	done
	uniq=$(printf '%s' "$sigs" | cut -f1 | sort -u | grep -c . || true)
	total_crashes=$((total_crashes + n))
	rows="$rows| fuzz_$t | ${execs:-?} | $rate | ${cov:-?} | ${ft:-?} | $files / $kib KiB | $n / $uniq |
"
	if [ "$n" -gt 0 ]; then
		details="$details
### fuzz_$t

$(printf '%s' "$sigs" | sort | awk -F'\t' '
	{ if ($1 != last) { if (last != "") printf "- %s — %d input(s), e.g. `%s`\n", last, c, ex; last = $1; c = 0; ex = $2 } c++ }
	END { if (last != "") printf "- %s — %d input(s), e.g. `%s`\n", last, c, ex }')
"
	fi
	echo "campaign.sh: fuzz_$t: ${execs:-?} execs, cov ${cov:-?}, $files corpus files, $n crash input(s)"
done

cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -c . || true)
{
	echo "# Fuzzing campaign report"
	echo
	echo "Written by \`tests/fuzz/campaign.sh $duration\` — do not edit by hand; rerun it."
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(uname -srm), ${cpu:-unknown CPU}, $(nproc) CPU(s)"
	echo "- Compiler: $(${CC:-clang} --version | head -1)"
	echo "- Source: $rev$( [ "$dirty" -gt 0 ] && echo " with $dirty uncommitted change(s)")"
	echo "- Per target: ${duration} s, libFuzzer -fork=$jobs (crashes recorded, fuzzing goes on)," \
		"ASan + UBSan, corpus in tests/fuzz/corpus-work/"
	echo
	echo "| target | execs | exec/s | cov | ft | corpus | crashes (inputs / unique) |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf '%s' "$rows"
	echo
	echo "cov: code edges reached (libFuzzer's last stats line), ft: features;"
	echo "crash inputs are in tests/fuzz/out/campaign/<target>/ (not committed):"
	echo "copy each new cause's input to tests/fuzz/regressions/<target>/."
	echo
	echo "## Crashes"
	if [ "$total_crashes" -eq 0 ]; then
		echo
		echo "None in this campaign."
	else
		printf '%s' "$details"
	fi
	echo
	echo "## Regression inputs"
	echo
	echo "The crashes found before, one input per cause (run-smoke.sh replays them)."
	echo
	if [ -z "$regs" ]; then
		echo "None."
	else
		echo "| target | input | today |"
		echo "|---|---|---|"
		printf '%s' "$regs"
	fi
} >"$here/REPORT.md"
echo "campaign.sh: wrote $here/REPORT.md"
