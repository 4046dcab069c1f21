"""Boot-test harness: boots an image with `berth run qemu`, keeps the serial
console in a file, waits for markers with timeouts, and on failure shows the
console tail. Every boot has a hard timeout; no test can hang. Every VM runs in a
process group of its own, killed whole on close, on exit and on SIGINT, SIGTERM or
SIGHUP of the test runner; leftovers() finds what still escaped."""
import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

TAIL_LINES = 40

# Every process the suite starts inherits this variable (set by mark_run), so that
# whatever is left at the end can be found and named.
MARK_VAR = "BERTH_TEST_RUN"

_live_vms = set()


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all_vms():
    for vm in list(_live_vms):
        vm.kill()


def _on_signal(signum, _frame):
    kill_all_vms()
    print(f"# {signal.Signals(signum).name}: every VM of this run killed", file=sys.stderr, flush=True)
    raise SystemExit(128 + signum)


def mark_run():
    """Marks this run's processes and installs the clean-up of every VM (atexit and
    SIGINT/SIGTERM/SIGHUP). Returns the mark."""
    mark = f"{os.getpid()}-{time.time_ns()}"
    os.environ[MARK_VAR] = mark
    atexit.register(kill_all_vms)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    return mark


def _proc_read(pid, name):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return None


def leftovers(mark, out_dir):
    """Processes other than this one carrying the run's mark, and QEMUs whose command
    line names out_dir: [(pid, command line)]."""
    me, found = os.getpid(), []
    needle = f"{MARK_VAR}={mark}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        cmdline = _proc_read(entry, "cmdline")
        if not cmdline:
            continue  # a zombie or a kernel thread
        args = cmdline.rstrip(b"\0").split(b"\0")
        env = _proc_read(entry, "environ") or b""
        qemu_here = os.path.basename(args[0]).startswith(b"qemu-system") and any(out_dir.encode() in a for a in args)
        if needle in env.split(b"\0") or qemu_here:
            found.append((int(entry), b" ".join(args).decode("utf-8", "replace")))
    return found


def check_no_leftovers(mark, out_dir):
    """Kills what leftovers() finds; returns a description of each (empty: none)."""
    found = leftovers(mark, out_dir)
    for pid, _ in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return [f"pid {pid}: {cmd}" for pid, cmd in found]


class BootFailure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Vm:
    def __init__(self, berth, prefix, console_path, publish=(), timeout=120, mem=512, extra=(), typing=False):
        self.console_path = console_path
        self.monitor_path = console_path + ".monitor"
        if os.path.exists(self.monitor_path):
            os.unlink(self.monitor_path)
        cmd = [berth, "run", "qemu", "--mem", str(mem), "--timeout", str(timeout),
               "--monitor", self.monitor_path]
        for p in publish:
            cmd += ["--publish", p]
        cmd += list(extra) + [prefix]
        self.started = time.monotonic()
        self._buf = ""
        self._lock = threading.Condition()
        self._console = open(console_path, "w")
        # A session of its own: close() kills `berth run qemu` and QEMU together, and a
        # Ctrl-C on the runner's terminal reaches them only through the runner.
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE if typing else subprocess.DEVNULL,
                                     start_new_session=True)
        _live_vms.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in iter(lambda: self.proc.stdout.read1(4096), b""):
            text = raw.decode("utf-8", "replace").replace("\r", "")
            with self._lock:
                # close() may give up on a reader whose pipe a leftover process holds.
                if not self._console.closed:
                    self._console.write(text)
                    self._console.flush()
                self._buf += text
                self._lock.notify_all()
        with self._lock:
            self._lock.notify_all()

    @property
    def console(self):
        with self._lock:
            return self._buf

    def tail(self):
        return "\n".join(self.console.splitlines()[-TAIL_LINES:])

    def expect(self, pattern, timeout=60):
        """Waits for a regex on the console; returns the match."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                m = rx.search(self._buf)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise BootFailure(f"no /{pattern}/ on the console after {timeout} s "
                                      f"(qemu {'exited ' + str(self.proc.returncode) if self.proc.poll() is not None else 'running'})"
                                      f"\n--- console tail ---\n{self._tail_locked()}")
                self._lock.wait(min(left, 0.5))

    def _tail_locked(self):
        return "\n".join(self._buf.splitlines()[-TAIL_LINES:])

    def monitor(self, command):
        """Sends one human-monitor command (e.g. 'sendkey ctrl-alt-delete')."""
        deadline = time.monotonic() + 10
        while not os.path.exists(self.monitor_path):
            if time.monotonic() > deadline:
                raise BootFailure("the QEMU monitor socket never appeared")
            time.sleep(0.1)
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.monitor_path)
            s.sendall(command.encode() + b"\n")
            time.sleep(0.3)

    def type(self, text):
        """Types text on the serial console (a Vm made with typing=True)."""
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def power_off_from_shell(self, timeout=60):
        """Powers the guest off from its console shell (PID 1's SIGUSR2 is
        poweroff) and checks that QEMU then exits cleanly."""
        self.type("kill -USR2 1\n")
        rc = self.wait_exit(timeout)
        assert rc == 0, f"QEMU exited with {rc}"

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BootFailure(f"QEMU still running {timeout} s later\n--- console tail ---\n{self.tail()}")

    def qemu_pids(self):
        """The QEMU processes `berth run qemu` started (its children)."""
        pids = []
        for task in os.listdir(f"/proc/{self.proc.pid}/task") if os.path.isdir(f"/proc/{self.proc.pid}/task") else ():
            text = _proc_read(self.proc.pid, f"task/{task}/children") or b""
            pids += [int(p) for p in text.split()]
        return pids

    def kill(self):
        """SIGKILL to QEMU first, so that `berth run qemu` reaps it and exits (killed
        together, QEMU would be left a zombie for init to reap); then SIGKILL to the
        VM's whole process group (berth, whatever else it started), and berth reaped."""
        qemus = self.qemu_pids() if self.proc.poll() is None else []
        for pid in qemus:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if qemus:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        kill_group(self.proc.pid)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        _live_vms.discard(self)

    def close(self):
        self.kill()
        self._reader.join(5)
        with self._lock:
            self._console.close()


def http_get(url, timeout=30):
    """GETs a URL, retrying while the guest's network comes up. One attempt may take
    all the time left (at least 5 s): an emulated guest on a loaded host can take long
    to answer, and a retry would run the request (a CGI with effects) twice."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=max(5, deadline - time.monotonic())) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except Exception as e:  # connection refused/reset until the service listens
            last = e
            time.sleep(0.5)
    raise BootFailure(f"GET {url} failed for {timeout} s: {last}")


class Suite:
    """Counts results and prints the closing 'N passed, M failed, K skipped' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def skip(self, name, reason):
        self.skipped += 1
        print(f"skip - {name}: {reason}", flush=True)

    def check(self, name, fn):
        t0 = time.monotonic()
        try:
            fn()
        except Exception as e:
            self.failed += 1
            print(f"FAIL - {name} ({time.monotonic() - t0:.1f} s)\n{e}", flush=True)
            return False
        self.passed += 1
        print(f"ok   - {name} ({time.monotonic() - t0:.1f} s)", flush=True)
        return True

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped", flush=True)
        return 0 if self.failed == 0 else 1
