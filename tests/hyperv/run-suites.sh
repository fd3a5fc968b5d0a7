#!/bin/sh
# Where KVM boots Debian's kernel (this host with hardware KVM, else the test
# host, tests/run.sh decides): the VMM's own tests, then every
# end-to-end test not marked process_only, in hyperv mode. Each pytest run
# reports itself in lines carrying NONCE (tests/isobox_report.py); tests/run.sh
# adds them up. With SHARD K/N, this is one of N runs side by side: it runs
# every Nth end-to-end test from the Kth (tests/e2e/conftest.py), labelled
# e2e-hyperv-K, and shard 1 also the VMM's tests.
# usage: run-suites.sh NONCE [TEST_TIMEOUT [K/N]]
cd "$(dirname "$0")/../.."
nonce=$1 timeout=${2:-900} shard=${3:-}
pytest() { # LABEL ARGS...
	label=$1
	shift
	PYTHONPATH=$(pwd)/tests ISOBOX_REPORT_LABEL=$label ISOBOX_REPORT_NONCE=$nonce \
		/usr/bin/python3 -m pytest -p no:cacheprovider -p isobox_report --color=no -rfEs \
		--timeout="$timeout" "$@" </dev/null
}
vmm=0
case $shard in
''|1/*) pytest vmm -v tests/hyperv; vmm=$? ;;
esac
label=e2e-hyperv${shard:+-${shard%/*}}
ISOBOX_TEST_MODES=hyperv ISOBOX_TEST_SHARD=$shard pytest "$label" -v --durations=40 tests/e2e
e2e=$?
[ "$vmm" -eq 0 ] && [ "$e2e" -eq 0 ]
