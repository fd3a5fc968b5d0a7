#!/bin/sh
# Runs the unit tests (cmocka), the bounded fuzz runs, the end-to-end tests
# (pytest) on this host, and the hyperv tests where KVM can run them; ends with
# one line "N passed, N failed, N skipped" that counts only what ran. Where each
# group ran, and why anything was skipped or left out, is listed above it.
# Usage: tests/run.sh [unit|e2e|hyperv]   (default: all of them)
#        tests/run.sh pytest LABEL ARGS...  (one pytest run on this host, counted
#                                            the same way; tests/e2e/test_runner.py)
#
# A failure: a failed or erroring test; a unit binary that is missing, crashed
# or timed out; a pytest run that reported nothing, ran no test, or exited with
# a collection, usage or internal error; a test host that failed or timed out.
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
[ $# -eq 0 ] || shift
passed=0 failed=0 skipped=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
summary=$tmp/summary   # where each group ran, with its counts
reasons=$tmp/reasons   # why something failed, was skipped or left out
: >"$summary"
: >"$reasons"
# pytest's report lines carry this nonce (tests/isobox_report.py): a test's
# own output cannot add to the count.
nonce=$$$(date +%s%N)
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}        # seconds, each unit binary
TEST_TIMEOUT=${TEST_TIMEOUT:-900}        # seconds, each pytest test (TCG boots are slow)
TESTHOST_TIMEOUT=${TESTHOST_TIMEOUT:-3600}
# MiB: the test host's writable root is a tmpfs, and its VMs and the files of
# a whole suite's run share it (2 GiB came near OOM and stalled there).
TESTHOST_MEM=${TESTHOST_MEM:-6144}
# Test hosts side by side for the hyperv run, each with TESTHOST_MEM: one per
# core of this machine (each is QEMU/TCG on one core).
TESTHOST_SHARDS=${TESTHOST_SHARDS:-$(nproc)}
# Where the unit tests' sources and binaries are, and the bounded fuzz runs
# (tests/e2e/test_runner.py points them at fakes).
UNIT_SRC=${UNIT_SRC:-tests/unit} UNIT_BIN=${UNIT_BIN:-build/tests}
FUZZ_CHECKS=${FUZZ_CHECKS-virtq exec_mux manifest fuse api}

fail() {
	echo "FAILED: $*" >>"$reasons"
	echo "FAILED: $*"
	failed=$((failed + 1))
}

# "[  PASSED  ] 3 test(s)." and kin: cmocka's count of $1, or empty.
cmocka_count() {
	sed -n "s/^\[  $1 *\] \([0-9][0-9]*\) test.*/\1/p" "$log" | tail -n 1
}

run_unit() {
	u_passed=0 u_failed=0 u_skipped=0
	for src in "$UNIT_SRC"/test_*.c; do
		t=$UNIT_BIN/$(basename "$src" .c)
		if [ ! -x "$t" ]; then
			fail "$t: missing (make $t)"
			continue
		fi
		echo "== $t"
		timeout -k 5 "$UNIT_TIMEOUT" "$t" >"$log" 2>&1
		rc=$?
		cat "$log"
		p=$(cmocka_count PASSED) f=$(cmocka_count FAILED) s=$(cmocka_count SKIPPED)
		u_passed=$((u_passed + ${p:-0}))
		u_failed=$((u_failed + ${f:-0}))
		u_skipped=$((u_skipped + ${s:-0}))
		# cmocka lists each skipped test by name below the count.
		[ -z "$s" ] || sed -n "s|^\[  SKIPPED \] \([^0-9].*\)|skipped: $t: \1|p" "$log" >>"$reasons"
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			fail "$t: timed out after ${UNIT_TIMEOUT}s"
		elif [ "$rc" -ne 0 ] && [ -z "$f" ]; then
			fail "$t: crashed (exit $rc)"
		elif [ -z "$p" ]; then
			fail "$t: ran no test"
		fi
	done
	passed=$((passed + u_passed))
	failed=$((failed + u_failed))
	skipped=$((skipped + u_skipped))
	echo "unit (cmocka), on this host: $u_passed passed, $u_failed failed, $u_skipped skipped" >>"$summary"

	# The virtio devices and the exec channel against a hostile guest for a
	# bounded time (FUZZ_CHECK_SECONDS, 30 by default, and
	# FUZZ_CHECK_EXEC_SECONDS, 10), and the manifest parsers against a hostile
	# registry (FUZZ_CHECK_MANIFEST_SECONDS, 10), the virtio-fs file server against
	# a hostile guest (FUZZ_CHECK_FUSE_SECONDS, 10): one test each, passed when the fuzzer
	# stops without a finding. A finding is kept in build/fuzz/artifacts/.
	for t in $FUZZ_CHECKS; do
		echo "== fuzz_$t"
		if make -s --no-print-directory "fuzz-check-$t" >"$log" 2>&1; then
			grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$log"
			passed=$((passed + 1))
			echo "fuzz_$t (bounded), on this host: passed" >>"$summary"
		else
			tail -n 60 "$log"
			fail "fuzz_$t: a finding or a build failure: reproduce with build/fuzz/fuzz_$t <artifact>"
			echo "fuzz_$t (bounded), on this host: FAILED" >>"$summary"
		fi
	done
}

# One value of a report line: report_value LINE KEY.
report_value() {
	echo "$1" | sed -n "s/.* $2=\([0-9][0-9]*\).*/\1/p"
}

# Add up the pytest runs reported in $log: count_pytest WHERE LABEL...
count_pytest() {
	where=$1
	shift
	for label in "$@"; do
		line=$(grep -a "^ISOBOX-RESULT $nonce $label " "$log" | tail -n 1)
		grep -a "^ISOBOX-SKIP $nonce $label: " "$log" |
			sed "s/^ISOBOX-SKIP $nonce /skipped: /" >>"$reasons"
		grep -a "^ISOBOX-LEFT-OUT $nonce $label: " "$log" |
			sed "s/^ISOBOX-LEFT-OUT $nonce /left out: /" >>"$reasons"
		if [ -z "$line" ]; then
			fail "$label ($where): pytest reported nothing: it did not run, or died"
			continue
		fi
		p=$(report_value "$line" passed) f=$(report_value "$line" failed)
		e=$(report_value "$line" errors) s=$(report_value "$line" skipped)
		d=$(report_value "$line" deselected) x=$(report_value "$line" exit)
		passed=$((passed + p))
		failed=$((failed + f + e))
		skipped=$((skipped + s))
		echo "$label, $where: $p passed, $((f + e)) failed, $s skipped, $d left out" >>"$summary"
		# pytest's exit codes: 0 all passed, 1 some failed, 2 interrupted,
		# 3 internal error, 4 usage error, 5 no test collected.
		if [ "$p" -eq 0 ]; then
			fail "$label ($where): ran no test"
		elif [ "$x" -gt 1 ] || { [ "$x" -eq 1 ] && [ $((f + e)) -eq 0 ]; }; then
			fail "$label ($where): pytest exited $x (interrupted, or a collection, usage or internal error)"
		fi
	done
}

pytest_cmd() { # LABEL: the pytest command line of a run labelled LABEL
	echo "env PYTHONPATH=$(pwd)/tests ISOBOX_REPORT_LABEL=$1 ISOBOX_REPORT_NONCE=$nonce" \
	     "/usr/bin/python3 -m pytest -p no:cacheprovider -p isobox_report --color=no -rfEs" \
	     "--timeout=$TEST_TIMEOUT"
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	run_unit
fi

run_pytest() { # LABEL ARGS...: one pytest run on this host
	label=$1
	shift
	$(pytest_cmd "$label") "$@" </dev/null 2>&1 | tee "$log"
	count_pytest "on this host" "$label"
}

if [ "$what" = pytest ]; then
	[ $# -gt 0 ] || { echo "usage: $0 pytest LABEL ARGS..." >&2; exit 2; }
	run_pytest "$@"
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
	run_pytest e2e-process -q tests/e2e
fi

# Whether this host's /dev/kvm runs hyperv containers (hardware KVM; isobox
# refuses PVM and a missing /dev/kvm): `isobox info` says so.
host_runs_vms() {
	./build/isobox --root "$tmp/probe" --config /dev/null info --format json 2>/dev/null |
		/usr/bin/python3 -c 'import json, sys
sys.exit(0 if json.load(sys.stdin)["Isolation"]["Modes"]["hyperv"]["Available"] else 1)'
}

# The VMM's own tests, then every end-to-end test not marked process_only in
# hyperv mode: on this host where its KVM boots Debian's kernel, else inside
# the test host, whose /dev/kvm is real nested KVM whatever this machine has.
if [ "$what" = all ] || [ "$what" = hyperv ]; then
	if ! sh tests/hyperv/prepare.sh; then
		fail "hyperv: preparing the guest kernel and the test host failed"
	elif host_runs_vms; then
		sh tests/hyperv/run-suites.sh "$nonce" "$TEST_TIMEOUT" 2>&1 | tee "$log"
		count_pytest "on this host (its KVM runs them)" vmm e2e-hyperv
	else
		# One test host per shard, side by side: each is QEMU/TCG on one
		# core (-smp 2 boots no faster), so N of them share the run N ways.
		# Shard 1 streams its output; the others print theirs after it.
		labels=vmm
		shard_run() { # K: run shard K/TESTHOST_SHARDS in a test host of its own
			scripts/testhost/run.sh --timeout "$TESTHOST_TIMEOUT" --mem "$TESTHOST_MEM" -- \
				sh tests/hyperv/run-suites.sh "$nonce" "$TEST_TIMEOUT" "$1/$TESTHOST_SHARDS" 2>&1
			echo $? >"$tmp/rc-$1"
		}
		k=2
		while [ "$k" -le "$TESTHOST_SHARDS" ]; do
			shard_run "$k" >"$tmp/log-$k" &
			k=$((k + 1))
		done
		echo "== hyperv shard 1/$TESTHOST_SHARDS (each shard in a test host of its own)"
		shard_run 1 | tee "$tmp/log-1"
		wait
		: >"$log"
		k=1
		while [ "$k" -le "$TESTHOST_SHARDS" ]; do
			labels="$labels e2e-hyperv-$k"
			[ "$k" -eq 1 ] || { echo "== hyperv shard $k/$TESTHOST_SHARDS"; cat "$tmp/log-$k"; }
			cat "$tmp/log-$k" >>"$log"
			if [ "$(cat "$tmp/rc-$k")" -eq 125 ]; then
				fail "the test host of shard $k/$TESTHOST_SHARDS failed or timed out (exit 125; limit ${TESTHOST_TIMEOUT}s)"
			fi
			k=$((k + 1))
		done
		# shellcheck disable=SC2086 # one word per label
		count_pytest "in the test host (this host's KVM cannot run them)" $labels
	fi
fi

echo
echo "== where each group ran"
cat "$summary"
if [ -s "$reasons" ]; then
	echo "== failed, skipped and left out, and why"
	cat "$reasons"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
