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
fi

# Count pytest's closing line from $log into passed/failed.
count_pytest() {
	summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$log" | tail -n 1)
	p=$(echo "$summary" | sed -n 's/.*\b\([0-9][0-9]*\) passed.*/\1/p')
	f=$(echo "$summary" | sed -n 's/.*\b\([0-9][0-9]*\) failed.*/\1/p')
	e=$(echo "$summary" | sed -n 's/.*\b\([0-9][0-9]*\) error.*/\1/p')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0}))
	if [ -z "$summary" ]; then
		echo "$1: pytest printed no summary"
		failed=$((failed + 1))
	fi
}

if [ "$what" = all ] || [ "$what" = e2e ]; then
	/usr/bin/python3 -m pytest -p no:cacheprovider --color=no -q tests/e2e 2>&1 | tee "$log"
	count_pytest e2e
fi

# Inside the test host: this machine's /dev/kvm cannot boot Debian's kernels.
if [ "$what" = all ] || [ "$what" = hyperv ]; then
	if sh tests/hyperv/prepare.sh; then
		scripts/testhost/run.sh --timeout 2400 -- \
			/usr/bin/python3 -m pytest -p no:cacheprovider --color=no -q tests/hyperv 2>&1 | tee "$log"
		count_pytest hyperv
	else
		echo "hyperv: preparing the test host failed"
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
