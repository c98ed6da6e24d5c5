"""bench/procstat.py — what the benchmarks' Python pollers read of a process in /proc
(on PYTHONPATH through bench/lib.sh)."""


def rss(pid):
    """Current VmRSS of pid in MiB; 0.0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
