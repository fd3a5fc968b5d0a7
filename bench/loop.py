"""The benchmarks' timing loop: python3 loop.py RUNS WARMUP CMD...; "{i}" in
CMD is replaced by the run index (unique container ids). Prints the median
wall time in ms of RUNS runs after WARMUP (perf_counter around subprocess.run)."""
import statistics, subprocess, sys, time

runs, warmup, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
samples = []
for i in range(warmup + runs):
    argv = [a.replace("{i}", str(i)) for a in cmd]
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    t1 = time.perf_counter()
    if p.returncode != 0:
        sys.exit("run failed (rc=%d): %s\n%s" % (p.returncode, " ".join(argv),
                 p.stderr.decode(errors="replace")))
    if i >= warmup:
        samples.append((t1 - t0) * 1000)
print("%.1f" % statistics.median(samples))
