#!/bin/sh
# Where KVM boots Debian's kernel (this host with hardware KVM, else the test
# host, tests/run.sh decides): the VMM's own tests, then every
# end-to-end test not marked process_only, in hyperv mode. Each pytest run
# reports itself in lines carrying NONCE (tests/isobox_report.py); tests/run.sh
# adds them up. usage: run-suites.sh NONCE [TEST_TIMEOUT]
cd "$(dirname "$0")/../.."
nonce=$1 timeout=${2:-900}
pytest() { # LABEL ARGS...
	label=$1
	shift
	PYTHONPATH=$(pwd)/tests ISOBOX_REPORT_LABEL=$label ISOBOX_REPORT_NONCE=$nonce \
		/usr/bin/python3 -m pytest -p no:cacheprovider -p isobox_report --color=no -rfEs \
		--timeout="$timeout" "$@" </dev/null
}
pytest vmm -v tests/hyperv
vmm=$?
ISOBOX_TEST_MODES=hyperv pytest e2e-hyperv -v tests/e2e
e2e=$?
[ "$vmm" -eq 0 ] && [ "$e2e" -eq 0 ]
