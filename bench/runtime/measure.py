#!/usr/bin/env python3
"""Times OCI runtimes on two bundles, interleaved, and prints medians and ratios.

usage: measure.py WORK RUNS berth=PATH crun=PATH runc=PATH [NAME=PATH...] launcher=PATH seccomp-compile=PATH
WORK/plain (no seccomp) and WORK/seccomp (the default profile) hold the
/bin/true bundles; WORK/state is where the runtimes keep their state. A copy
of each running the first-instruction probe is made next to it. See run.sh
for what each figure means.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

work, runs = sys.argv[1], int(sys.argv[2])
tools = dict(a.split("=", 1) for a in sys.argv[3:])
launcher = tools.pop("launcher")
seccomp_compile = tools.pop("seccomp-compile")
# BENCH_LAUNCHER_ONLY=1: only the launcher figures (no CLI runtime compared).
if os.environ.get("BENCH_LAUNCHER_ONLY"):
    tools = {}
runtimes = list(tools)  # berth first: ratios are berth / peer
bundles = ["plain", "seccomp"]
state = os.path.join(work, "state")

probe = {}
for b in bundles:
    probe[b] = os.path.join(work, "probe-" + b)
    os.makedirs(probe[b], exist_ok=True)
    config = json.load(open(os.path.join(work, b, "config.json")))
    config["process"]["args"] = ["/bin/first-instruction"]
    json.dump(config, open(os.path.join(probe[b], "config.json"), "w"))
# The seccomp probe again, with the profile precompiled next to config.json as
# the builder ships it (seccomp.bpf).
probe["shipped"] = os.path.join(work, "probe-shipped")
os.makedirs(probe["shipped"], exist_ok=True)
shutil.copy(os.path.join(probe["seccomp"], "config.json"), probe["shipped"])
with open(os.path.join(probe["shipped"], "seccomp.bpf"), "wb") as f:
    subprocess.run([seccomp_compile, "--program-file", os.path.join(probe["shipped"], "config.json")], stdout=f,
                   check=True)

devnull = os.open(os.devnull, os.O_RDWR)


def spawn(argv, stdout=devnull):
    """Runs argv; returns (start ns, wall ns, stdout text)."""
    r, w = os.pipe() if stdout is None else (None, stdout)
    t0 = time.monotonic_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, w, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    out = b""
    if r is not None:
        os.close(w)
        with os.fdopen(r, "rb") as f:
            out = f.read()
    _, status = os.waitpid(pid, 0)
    wall = time.monotonic_ns() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        err = subprocess.run(argv, capture_output=True, text=True)
        sys.exit(f"{' '.join(argv)} failed ({os.waitstatus_to_exitcode(status)}): {err.stderr.strip()}")
    return t0, wall, out.decode()


def peak_rss(argv):
    """Largest resident set (kB) of any process in argv's tree, as GNU time
    reports it. Not from our own wait4: a child spawned by this Python process
    starts with Python's high-water mark."""
    out = os.path.join(work, "rss")
    spawn(["/usr/bin/time", "-f", "%M", "-o", out] + argv)
    return int(open(out).read().split()[-1])


def first_instruction(out):
    for line in out.splitlines():
        if line.startswith("first-instruction "):
            return int(line.split()[1])
    sys.exit(f"no first-instruction line in: {out!r}")


keys = ("run", "csd", "rss", "first")
results = {b: {name: {k: [] for k in keys} for name in runtimes} for b in bundles}
launch = {"first": [], "warm": [], "shipped": []}
for i in range(runs):
    for b in bundles:
        bundle = os.path.join(work, b)
        # The order turns each round: whoever runs first follows the last
        # runtime's exit (its namespaces still being torn down by the kernel).
        for name in runtimes[i % len(runtimes):] + runtimes[:i % len(runtimes)]:
            R = [tools[name], "--root", os.path.join(state, name)]
            res = results[b][name]
            _, wall, _ = spawn(R + ["run", "--bundle", bundle, f"r{i}"])
            res["run"].append(wall / 1e6)
            res["rss"].append(peak_rss(R + ["run", "--bundle", bundle, f"m{i}"]))
            t0 = time.monotonic_ns()
            spawn(R + ["create", "--bundle", bundle, f"c{i}"])
            spawn(R + ["start", f"c{i}"])
            spawn(R + ["delete", "--force", f"c{i}"])
            res["csd"].append((time.monotonic_ns() - t0) / 1e6)
            t0, _, out = spawn(R + ["run", "--bundle", probe[b], f"p{i}"], stdout=None)
            res["first"].append((first_instruction(out) - t0) / 1e6)
    # The launcher PID 1 uses, in-process: from the decision (before config.json
    # is read) to the first instruction.
    cg = f"/sys/fs/cgroup/berth-bench-{os.getpid()}-{i}"
    # Cold: the seccomp profile compiled in this launch (PID 1's first start of
    # a profile without a precompiled program); warm: the compiled program
    # reused (PID 1 keeps it in memory); shipped: the bundle's seccomp.bpf
    # loaded, nothing compiled (PID 1's first start of a built image).
    for key, extra, b in (("first", [], "seccomp"),
                          ("warm", ["--seccomp-cache", os.path.join(work, "launcher-cache")], "seccomp"),
                          ("shipped", [], "shipped")):
        _, _, out = spawn([launcher, "--report-start", "--cgroup", cg] + extra + [probe[b]], stdout=None)
        decided = int(next(l.split()[1] for l in out.splitlines() if l.startswith("start-decided ")))
        launch[key].append((first_instruction(out) - decided) / 1e6)
        os.rmdir(cg)


def med(v):
    return statistics.median(v) if v else float("nan")


def ratio(a, b):
    return f"{a / b:.2f}" if b > 0 else "n/a"


peers = [n for n in runtimes if n != "berth"]
targets = {("plain", "run"): "<= 0.5x crun", ("seccomp", "run"): "<= 0.25x crun"}
if runtimes:
    print(f"\nOCI runtime figures ({runs} runs each, interleaved, medians; ratios are berth / peer)")
    head = f"| {'bundle':<7} | {'measure':<40} |" + "".join(f" {n:>10} |" for n in runtimes) + "".join(
        f" vs {p:<6} |" for p in peers) + " target |"
    print(head)
    print("|" + "|".join("-" * (len(c) + 2) for c in head.strip("|").split("|")[:-1]) + "|--------|")
    rows = [("run of /bin/true (ms)", "run", "fmt2"),
            ("create + start + delete (ms)", "csd", "fmt2"),
            ("decided -> first instruction via CLI (ms)", "first", "fmt2"),
            ("peak RSS of the runtime's tree (kB)", "rss", "int")]
    for b in bundles:
        for label, key, kind in rows:
            vals = [med(results[b][n][key]) for n in runtimes]
            cells = "".join(f" {v:>10.2f} |" if kind == "fmt2" else f" {int(v):>10} |" for v in vals)
            rats = "".join(f" {ratio(vals[0], med(results[b][p][key])):>9} |" for p in peers)
            print(f"| {b:<7} | {label:<40} |{cells}{rats} {targets.get((b, key), '')} |")
print(f"\nberth's launcher as PID 1 uses it (in-process, no CLI), decided -> first instruction: "
      f"{med(launch['first']):.2f} ms cold (seccomp compiled), {med(launch['warm']):.2f} ms warm (compiled "
      f"program reused), {med(launch['shipped']):.2f} ms with the precompiled seccomp.bpf (nothing compiled)")
floor = peak_rss([os.path.join(work, "rootfs", "bin", "busybox"), "true"])
print(f"peak RSS floor: busybox true alone under the same measurement: {floor} kB")
print("launcher samples (ms): " + json.dumps({k: [round(x, 2) for x in v] for k, v in launch.items()}), file=sys.stderr)
print("raw samples (ms): " + json.dumps({b: {n: {k: [round(x, 2) for x in v] for k, v in r.items() if v and k != 'rss'}
                                             for n, r in per.items()} for b, per in results.items()}),
      file=sys.stderr)
