#!/bin/sh
# Inside the test host (real nested KVM): the VMM's own tests, then the
# end-to-end suite in hyperv mode. Each pytest run ends with its own summary
# line; tests/run.sh adds them up.
cd "$(dirname "$0")/../.."
/usr/bin/python3 -m pytest -p no:cacheprovider --color=no -v tests/hyperv </dev/null
ISOBOX_TEST_MODES=hyperv /usr/bin/python3 -m pytest -p no:cacheprovider --color=no -v tests/e2e </dev/null
