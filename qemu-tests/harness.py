"""Boot-test harness: boots an image with `berth run qemu`, keeps the serial
console in a file, waits for markers with timeouts, and on failure shows the
console tail. Every boot has a hard timeout; no test can hang."""
import os
import re
import socket
import subprocess
import threading
import time
import urllib.request

TAIL_LINES = 40


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
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE if typing else subprocess.DEVNULL)
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

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BootFailure(f"QEMU still running {timeout} s later\n--- console tail ---\n{self.tail()}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        with self._lock:
            self._console.close()


def http_get(url, timeout=30):
    """GETs a URL, retrying while the guest's network comes up."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except Exception as e:  # connection refused/reset until the service listens
            last = e
            time.sleep(0.5)
    raise BootFailure(f"GET {url} failed for {timeout} s: {last}")


class Suite:
    """Counts results and prints the closing 'N passed, M failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

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
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 else 1
