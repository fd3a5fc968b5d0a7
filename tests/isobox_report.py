"""A pytest plugin that reports a run to tests/run.sh in lines no test's output
can fake (they carry the runner's nonce): what passed, failed, errored, was
skipped and why, and what a conftest left out and why. Loaded with
`-p isobox_report` (tests/ on PYTHONPATH); ISOBOX_REPORT_LABEL names the run,
ISOBOX_REPORT_NONCE is the runner's nonce."""
import os

_LEFT_OUT = []   # (count, reason) of the tests a conftest deselected
# Taken out of the environment before any test runs: tests and what they
# start cannot learn it.
_NONCE = os.environ.pop("ISOBOX_REPORT_NONCE", "-")


def deselect(config, items, reason):
    """Leave items out of this run, saying why in the report."""
    if items:
        config.hook.pytest_deselected(items=items)
        _LEFT_OUT.append((len(items), reason))


def _count(stats, key):
    # A test that passed and then failed its teardown is in both lists: the
    # error counts it as a failure.
    return len(stats.get(key, []))


def _skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return f"{longrepr[0]}:{longrepr[1]}: {longrepr[2]}"
    return str(longrepr)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    label = os.environ.get("ISOBOX_REPORT_LABEL", "pytest")
    nonce = _NONCE
    stats = terminalreporter.stats
    write = terminalreporter.write_line
    for report in stats.get("skipped", []):
        write(f"ISOBOX-SKIP {nonce} {label}: {report.nodeid}: {_skip_reason(report)}")
    for count, reason in _LEFT_OUT:
        write(f"ISOBOX-LEFT-OUT {nonce} {label}: {count} tests: {reason}")
    write(f"ISOBOX-RESULT {nonce} {label} passed={_count(stats, 'passed')} "
          f"failed={_count(stats, 'failed')} errors={_count(stats, 'error')} "
          f"skipped={_count(stats, 'skipped')} deselected={_count(stats, 'deselected')} "
          f"exit={int(exitstatus)}")
