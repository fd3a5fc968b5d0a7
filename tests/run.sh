#!/bin/sh
# Runs the unit tests (cmocka) and the end-to-end tests (pytest) and ends with
# one line "N passed, N failed". Usage: tests/run.sh [unit|e2e]
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in build/tests/test_*; do
		[ -x "$t" ] || continue
		echo "== $t"
		"$t" >"$log" 2>&1
		rc=$?
		cat "$log"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
		if [ $rc -ne 0 ] && [ -z "$f" ]; then
			echo "$t crashed (exit $rc)"
			failed=$((failed + 1))
		fi
	done
	# The virtio devices and the exec channel against a hostile guest for a
	# bounded time (FUZZ_CHECK_SECONDS, 30 by default, and
	# FUZZ_CHECK_EXEC_SECONDS, 10): one test each, passed when the fuzzer
	# stops without a finding. A finding is kept in build/fuzz/artifacts/.
	for t in virtq exec_mux; do
		echo "== fuzz_$t"
		if make -s --no-print-directory "fuzz-check-$t" >"$log" 2>&1; then
			grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log"
			passed=$((passed + 1))
		else
			tail -n 60 "$log"
			echo "fuzz_$t failed: reproduce with build/fuzz/fuzz_$t <artifact>"
			failed=$((failed + 1))
		fi
	done
fi

# Add up pytest's closing lines in $log (one per pytest run; $2 of them expected).
count_pytest() {
	summaries=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|deselected)' "$log")
	runs=$(printf '%s\n' "$summaries" | grep -c . || true)
	for summary in $(printf '%s\n' "$summaries" | tr ' ' '_'); do
		summary=_$summary
		p=$(echo "$summary" | sed -n 's/.*[^0-9]\([0-9][0-9]*\)_passed.*/\1/p')
		f=$(echo "$summary" | sed -n 's/.*[^0-9]\([0-9][0-9]*\)_failed.*/\1/p')
		e=$(echo "$summary" | sed -n 's/.*[^0-9]\([0-9][0-9]*\)_error.*/\1/p')
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0} + ${e:-0}))
	done
	if [ "$runs" -lt "$2" ]; then
		echo "$1: pytest printed $runs summaries, expected $2"
		failed=$((failed + 1))
	fi
}

if [ "$what" = all ] || [ "$what" = e2e ]; then
	/usr/bin/python3 -m pytest -p no:cacheprovider --color=no -q tests/e2e 2>&1 | tee "$log"
	count_pytest e2e 1
fi

# Inside the test host: this machine's /dev/kvm cannot boot Debian's kernels.
# The VMM's own tests, then the end-to-end suite in hyperv mode.
if [ "$what" = all ] || [ "$what" = hyperv ]; then
	if sh tests/hyperv/prepare.sh; then
		scripts/testhost/run.sh --timeout 3000 -- sh tests/hyperv/run-in-testhost.sh 2>&1 |
			tee "$log"
		count_pytest hyperv 2
	else
		echo "hyperv: preparing the test host failed"
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
