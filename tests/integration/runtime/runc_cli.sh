#!/bin/bash
# berth-runc, the runc-compatible command: lifecycle, state, errors, exec,
# hooks, the console socket, and podman driving it. Needs root.
# Usage: runc_cli.sh BERTH_RUNC
set -u
RUNC=$(realpath "${1:?usage: runc_cli.sh BERTH_RUNC}")
. "$(dirname "$0")/../../lib/check.sh"

# Own mount namespace with cgroup2 on /sys/fs/cgroup, as crun wants it too.
run_in_private_mount_ns "$0" "$@"
mount_cgroup2

WORK=$(mktemp -d /tmp/berth-runc-XXXXXX)
chmod 755 "$WORK"
ROOT=$WORK/state
R() { timeout 20 "$RUNC" --root "$ROOT" "$@"; }
cleanup() {
    for id in $(ls "$ROOT" 2>/dev/null); do "$RUNC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done
    rm -rf "$WORK"
}
trap cleanup EXIT

make_busybox_rootfs "$WORK/rootfs" || exit 1
# bundle NAME SCRIPT [EXTRA_TOP_LEVEL_JSON]: a config.json running `sh -c SCRIPT`.
bundle() {
    local d=$WORK/$1
    mkdir -p "$d"
    python3 - "$d/config.json" "$WORK/rootfs" "$2" "${3:-}" <<'PY'
import json, sys
path, rootfs, script, extra = sys.argv[1:5]
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]
c = {"ociVersion": "1.0.2", "root": {"path": rootfs, "readonly": True}, "hostname": "runc-test",
     "annotations": {"org.example.test": "yes"},
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
     "process": {"args": ["sh", "-c", script], "cwd": "/", "env": ["PATH=/bin", "TERM=xterm"],
                 "user": {"uid": 0, "gid": 0}, "noNewPrivileges": True,
                 "capabilities": {k: caps for k in ("bounding", "effective", "permitted")}},
     "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")]}}
if extra:
    for k, v in json.loads(extra).items():
        if isinstance(v, dict) and isinstance(c.get(k), dict):
            c[k].update(v)
        else:
            c[k] = v
json.dump(c, open(path, "w"))
PY
    echo "$d"
}
json_get() { python3 -c 'import json,sys; print(json.load(sys.stdin)'"$1"')'; }

# --- run: output, exit code, no state left ----------------------------------
B=$(bundle run 'echo out=$(hostname); echo err >&2; exit 7')
OUT=$(cd "$B" && R run r1 2>&1); RC=$?
check "run passes stdout and stderr through" grep -qx 'out=runc-test' <<<"$OUT"
check "run passes the exit code through" [ "$RC" = 7 ]
check "run leaves no state behind" [ ! -e "$ROOT/r1" ]
OUT=$(R run --bundle "$B" r1 2>&1 >/dev/null)
check "--bundle instead of the current directory" [ "$?" = 7 ]

# --- create parks the process until start --------------------------------------
B=$(bundle life 'echo started >/tmp/m; trap "echo term >&2; exit 0" TERM; echo running; while :; do sleep 0.05; done')
# The container keeps create's stdio: a file, not a pipe we would wait on.
R create --bundle "$B" --pid-file "$WORK/life.pid" c1 >"$WORK/c1.out" 2>&1; RC=$?
check "create succeeds" [ "$RC" = 0 ]
ST=$(R state c1)
check "state says created" [ "$(json_get '["status"]' <<<"$ST")" = created ]
PID=$(json_get '["pid"]' <<<"$ST")
check "--pid-file holds the state's pid" [ "$(cat "$WORK/life.pid")" = "$PID" ]
check "state has the bundle" [ "$(json_get '["bundle"]' <<<"$ST")" = "$B" ]
check "state has the annotations" [ "$(json_get '["annotations"]["org.example.test"]' <<<"$ST")" = yes ]
check "created: the process has not exec'd its command yet" [ "$(readlink /proc/"$PID"/exe)" = "$RUNC" ]
check "created: the process is parked in the exec fifo" grep -q "exec.fifo" <(ls -l /proc/"$PID"/fd 2>/dev/null)
check "start succeeds" R start c1
sleep 0.2
check "state says running" [ "$(R state c1 | json_get '["status"]')" = running ]
OUT=$(R start c1 2>&1); RC=$?
check "start twice is an error" [ "$RC" != 0 ]
check "start twice says why" grep -q "cannot start container \`c1\`: it is running, not created" <<<"$OUT"
OUT=$(R delete c1 2>&1); RC=$?
check "delete of a running container is an error" [ "$RC" != 0 ]
check "delete of a running container says why" grep -q "it is running (stop it first or use --force)" <<<"$OUT"
check "list shows it" grep -q '^c1 .* running ' <<<"$(R list)"
check "list --format json" [ "$(R list --format json | json_get '[0]["id"]')" = c1 ]
check "list --quiet" [ "$(R list -q)" = c1 ]

# --- exec -----------------------------------------------------------------------
OUT=$(R exec c1 sh -c 'echo host=$(hostname) pid1=$(cat /proc/1/cmdline | tr "\0" " "); exit 4'); RC=$?
check "exec runs in the container's namespaces" grep -q '^host=runc-test pid1=sh -c' <<<"$OUT"
check "exec passes the exit code through" [ "$RC" = 4 ]
OUT=$(R exec c1 grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status)
check "exec keeps the container's capability bounding set" grep -q "^CapBnd:.*00000000000000eb$" <<<"$OUT"
check "exec keeps no_new_privs" grep -q "^NoNewPrivs:.*1$" <<<"$OUT"
echo '{"args":["sh","-c","echo from-process-file $(id -u)"],"cwd":"/tmp","user":{"uid":1000,"gid":1000},"env":["PATH=/bin"]}' >"$WORK/proc.json"
check "exec --process FILE" grep -q '^from-process-file 1000$' <<<"$(R exec --process "$WORK/proc.json" c1)"
OUT=$(R exec c1 2>&1); RC=$?
check "exec without a command is an error" [ "$RC" != 0 ]

# --- kill ---------------------------------------------------------------------------
check "kill with the default signal (TERM)" R kill c1
for _ in $(seq 50); do [ "$(R state c1 | json_get '["status"]')" = stopped ] && break; sleep 0.1; done
check "the TERM handler ran and the container is stopped" [ "$(R state c1 | json_get '["status"]')" = stopped ]
check "the container wrote to create's stdout and stderr" [ "$(tr '\n' ' ' <"$WORK/c1.out")" = "running term " ]
OUT=$(R kill c1 KILL 2>&1); RC=$?
check "kill of a stopped container is an error" [ "$RC" != 0 ]
check "...saying \"container not running\", which containerd's shim looks for" grep -q "container not running" <<<"$OUT"
check "kill --all of a stopped container is not an error (as runc: what is left in its cgroup)" R kill --all c1 KILL
check "stopped state reports pid 0" [ "$(R state c1 | json_get '["pid"]')" = 0 ]
check "delete a stopped container" R delete c1
OUT=$(R state c1 2>&1); RC=$?
check "state of an unknown id is an error" [ "$RC" != 0 ]
check "unknown id says so" grep -q "container \`c1\` does not exist" <<<"$OUT"
OUT=$(R delete c1 2>&1)
check "delete of an unknown id is an error" [ "$?" != 0 ]
check "delete --force of an unknown id is not (as runc and crun)" R delete --force c1

R create --bundle "$B" c2 >"$WORK/c2.out" 2>&1
for sig in SIGWINCH WINCH 28; do
    R kill c2 "$sig" 2>/dev/null
done
check "kill accepts SIGWINCH, WINCH and 28 (ignored by a parked container)" [ "$(R state c2 | json_get '["status"]')" = created ]
OUT=$(R kill c2 NOSUCH 2>&1)
check "kill with an unknown signal is an error" grep -q "unknown signal \`NOSUCH\`" <<<"$OUT"
check "delete --force of a created container" R delete --force c2
check "delete --force leaves no state" [ ! -e "$ROOT/c2" ]
# A created container is ended by SIGTERM as runc's is (podman stops one that
# was never started with it, and waited out its whole timeout before).
R create --bundle "$B" c3 >"$WORK/c3.out" 2>&1
check "kill TERM of a created container" R kill c3 TERM
for _ in $(seq 50); do [ "$(R state c3 | json_get '["status"]')" = stopped ] && break; sleep 0.1; done
check "...stops it at once" [ "$(R state c3 | json_get '["status"]')" = stopped ]
check "...and delete removes it" R delete c3
R create --bundle "$B" c4 >"$WORK/c4.out" 2>&1
check "delete without --force of a created container (as runc)" R delete c4
check "...leaves no state and no process" [ ! -e "$ROOT/c4" ]

# --- stopped: a zombie and a reused pid -------------------------------------------
B=$(bundle quick 'exit 0')
ZOMBIE=$(python3 - "$RUNC" "$ROOT" "$B" <<'PY'
import ctypes, json, os, subprocess, sys, time
runc, root, bundle = sys.argv[1:4]
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: the container becomes our (unreaped) child
subprocess.run([runc, "--root", root, "run", "--detach", "--bundle", bundle, "z1"], check=True,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pid = json.load(open(f"{root}/z1/state.json"))["pid"]  # `state` already says 0 once it is stopped
for _ in range(100):
    if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
        break
    time.sleep(0.02)
st = json.loads(subprocess.run([runc, "--root", root, "state", "z1"], capture_output=True, text=True).stdout)
print(st["status"], open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0])
os.waitpid(pid, 0)
PY
)
check "a zombie container process reads as stopped" [ "$ZOMBIE" = "stopped Z" ]
R delete z1 >/dev/null 2>&1
B=$(bundle long 'sleep 30')
R run --detach --bundle "$B" p1 >/dev/null 2>&1
python3 - "$ROOT/p1/state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["pidStartTime"] += 1; json.dump(s, open(sys.argv[1], "w"))
PY
check "a pid whose start time differs (reused) reads as stopped" [ "$(R state p1 | json_get '["status"]')" = stopped ]
OUT=$(R kill p1 KILL 2>&1)
check "a reused pid is never signalled" [ "$?" != 0 ]
PID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$ROOT/p1/state.json")
kill -KILL "$PID"; rm -rf "$ROOT/p1"

# --- hooks ----------------------------------------------------------------------------
cat >"$WORK/hook.sh" <<'H'
#!/bin/sh
cat >"$1"
H
chmod +x "$WORK/hook.sh"
HOOKS='{"hooks":{"createRuntime":[{"path":"'$WORK'/hook.sh","args":["hook.sh","'$WORK'/h-createRuntime"]}],
 "createContainer":[{"path":"'$WORK'/hook.sh","args":["hook.sh","'$WORK'/h-createContainer"]}],
 "startContainer":[{"path":"/bin/sh","args":["sh","-c","grep -q creating && echo start-hook-ran=$(hostname)"]}],
 "poststart":[{"path":"'$WORK'/hook.sh","args":["hook.sh","'$WORK'/h-poststart"]}],
 "poststop":[{"path":"'$WORK'/hook.sh","args":["hook.sh","'$WORK'/h-poststop"]}]}}'
B=$(bundle hooks 'echo main-ran' "$HOOKS")
OUT=$(R run --bundle "$B" h1 2>&1); RC=$?
check "run with every hook succeeds" [ "$RC" = 0 ]
check "createRuntime got the state JSON on stdin" [ "$(json_get '["status"]' <"$WORK/h-createRuntime")" = creating ]
check "createRuntime state has the pid and the bundle" python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(not (s["pid"] > 0 and s["bundle"] == sys.argv[2] and s["id"] == "h1"))' "$WORK/h-createRuntime" "$B"
check "createContainer ran (runtime path, before pivot_root)" [ -s "$WORK/h-createContainer" ]
check "startContainer ran inside the container, before the process" grep -q "^start-hook-ran=runc-test" <<<"$OUT"
check "the process ran after its hooks" [ "$(grep -n 'start-hook-ran\|main-ran' <<<"$OUT" | cut -d: -f1 | tr '\n' ' ')" = "1 2 " ]
check "poststart ran with status running" [ "$(json_get '["status"]' <"$WORK/h-poststart")" = running ]
check "poststop ran with status stopped" [ "$(json_get '["status"]' <"$WORK/h-poststop")" = stopped ]
# poststart runs after the process started: its state says running, even when the
# process (here `true`) may have exited already by the time the hook runs.
statuses=
for i in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$WORK/h-poststart"
    R run --bundle "$B" "h1-$i" >/dev/null 2>&1
    statuses+="$(json_get '["status"]' <"$WORK/h-poststart" 2>/dev/null || echo none) "
done
check "poststart gets status running every time (10 runs: $statuses)" \
    [ "$statuses" = "$(printf 'running %.0s' 1 2 3 4 5 6 7 8 9 10)" ]
# A failing poststart or poststop hook is a warning; the other hooks and the command go on.
B=$(bundle hook-warn 'true' '{"hooks":{
 "poststart":[{"path":"/bin/false"},{"path":"'$WORK'/hook.sh","args":["hook.sh","'$WORK'/h-poststart-2"]}],
 "poststop":[{"path":"/bin/sh","args":["sh","-c","exit 4"]},{"path":"'$WORK'/hook.sh","args":["hook.sh","'$WORK'/h-poststop-2"]}]}}')
rm -f "$WORK/h-poststart-2" "$WORK/h-poststop-2"
R create --bundle "$B" hw >/dev/null 2>&1
OUT=$(R start hw 2>&1); RC=$?
check "start succeeds although a poststart hook fails" [ "$RC" = 0 ]
check "the failing poststart hook is a warning naming it" grep -q 'hooks.poststart\[0\] `/bin/false`: exited with status 1' <<<"$OUT"
check "the poststart hook after the failing one still ran" [ -s "$WORK/h-poststart-2" ]
OUT=$(R delete --force hw 2>&1); RC=$?
check "delete succeeds although a poststop hook fails" [ "$RC" = 0 ]
check "the failing poststop hook is a warning naming it" grep -q 'hooks.poststop\[0\] `/bin/sh`: exited with status 4' <<<"$OUT"
check "the poststop hook after the failing one still ran" [ "$(json_get '["status"]' <"$WORK/h-poststop-2" 2>/dev/null)" = stopped ]
check "the container is gone" [ ! -e "$ROOT/hw" ]
B=$(bundle hook-slow 'true' '{"hooks":{"createRuntime":[{"path":"/bin/sleep","args":["sleep","10"],"timeout":1}]}}')
START=$(date +%s)
OUT=$(R run --bundle "$B" h2 2>&1); RC=$?
check "a hook over its timeout fails the create" [ "$RC" != 0 ]
check "the timeout is named" grep -q "hooks.createRuntime\[0\] \`/bin/sleep\`: timed out after 1 s" <<<"$OUT"
check "the timeout is honoured (< 5 s)" [ $(( $(date +%s) - START )) -lt 5 ]
check "a failed create leaves no state" [ ! -e "$ROOT/h2" ]
B=$(bundle hook-fail 'true' '{"hooks":{"createRuntime":[{"path":"/bin/false"}]}}')
OUT=$(R run --bundle "$B" h3 2>&1)
check "a failing hook is reported with its exit status" grep -q "hooks.createRuntime\[0\] \`/bin/false\`: exited with status 1" <<<"$OUT"

# --- terminal and the console socket -----------------------------------------------------
B=$(bundle tty 'tty; stty size' '{"process":{"terminal":true,"consoleSize":{"height":33,"width":101}}}')
OUT=$(python3 - "$RUNC" "$ROOT" "$B" "$WORK/console.sock" <<'PY'
import array, os, socket, subprocess, sys, time
runc, root, bundle, path = sys.argv[1:5]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind(path); srv.listen(1)
p = subprocess.Popen([runc, "--root", root, "create", "--bundle", bundle, "--console-socket", path, "t1"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
conn, _ = srv.accept(); srv.settimeout(10)
fds = array.array("i")
msg, anc, _, _ = conn.recvmsg(256, socket.CMSG_LEN(fds.itemsize))
fds.frombytes(anc[0][2][:fds.itemsize])
master = fds[0]
p.wait()
subprocess.run([runc, "--root", root, "start", "t1"], check=True)
out = b""
end = time.time() + 10
while time.time() < end:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if b"101" in out:
        break
print("name=" + msg.decode())
print(out.decode().replace("\r", ""))
subprocess.run([runc, "--root", root, "delete", "--force", "t1"])
PY
)
check "the pty master arrives over the console socket with its name" grep -q '^name=/dev/pts/[0-9]' <<<"$OUT"
check "the process runs on the pty" grep -q '^/dev/pts/0$' <<<"$OUT"
check "consoleSize is applied" grep -q '^33 101$' <<<"$OUT"
R create --bundle "$B" t2 >"$WORK/t2.out" 2>&1
OUT=$(cat "$WORK/t2.out")
check "create: terminal without --console-socket is an error" grep -q "process.terminal is true: --console-socket is required" <<<"$OUT"
# In the foreground berth-runc takes the pty itself and relays it, as runc does
# (`runc spec && runc run ID` by hand): input, output, size and exit status.
if command -v script >/dev/null; then
    B=$(bundle tty2 'tty; stty size; read x; echo got=$x; exit 4' '{"process":{"terminal":true}}')
    OUT=$(printf 'hello\n' | timeout 30 script -qec "stty rows 40 cols 120; $RUNC --root $ROOT run --bundle $B t3; echo rc=\$?" /dev/null | tr -d '\r')
    R delete --force t3 >/dev/null 2>&1
    check "run in the foreground without --console-socket: the process has a pty" grep -q '^/dev/pts/[0-9]' <<<"$OUT"
    check "...of the caller's terminal size" grep -q '^40 120$' <<<"$OUT"
    check "...reads the caller's input" grep -q '^got=hello$' <<<"$OUT"
    check "...and its exit status comes through" grep -q '^rc=4$' <<<"$OUT"
    check "...leaving no socket in the state root" [ -z "$(ls -A "$ROOT" | grep console)" ]
else
    skip "terminal relay (no script(1))"
fi

# --- spec: a config.json to start from, as runc spec writes one ---------------------------
mkdir -p "$WORK/spec"
check "spec writes config.json in the bundle" R spec --bundle "$WORK/spec"
check "...one the runtime reads: a shell on a terminal in ./rootfs" \
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(not (c["process"]["terminal"] and c["process"]["args"] == ["sh"] and c["root"]["path"] == "rootfs"))' "$WORK/spec/config.json"
OUT=$(R spec --bundle "$WORK/spec" 2>&1); RC=$?
check "spec never writes over a config.json" [ "$RC" != 0 ]
check "...and says so" grep -q "exists: remove it first" <<<"$OUT"
if command -v script >/dev/null; then
    cp -a "$WORK/rootfs" "$WORK/spec/rootfs"
    OUT=$(printf 'echo from-spec-$((40+2)); exit 5\n' | timeout 30 script -qec "cd $WORK/spec && $RUNC --root $ROOT run sp1; echo rc=\$?" /dev/null | tr -d '\r')
    R delete --force sp1 >/dev/null 2>&1
    check "spec then run: the shell on its terminal" grep -q '^from-spec-42$' <<<"$OUT"
    check "...exits with its status" grep -q '^rc=5$' <<<"$OUT"
fi

# --- global options and the rest ---------------------------------------------------------
OUT=$(R --log "$WORK/log.json" --log-format json state nosuch 2>/dev/null)
check "--log-format json writes the error as a JSON line" python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(not (l["level"] == "error" and "nosuch" in l["msg"]))' "$WORK/log.json"
OUT=$(R --systemd-cgroup state x 2>&1); RC=$?
check "--systemd-cgroup is rejected clearly" grep -q -- "--systemd-cgroup is not supported" <<<"$OUT"
check "--version" grep -q '^berth-runc version [0-9]' <<<"$(R --version)"
check "features is JSON with seccomp enabled" [ "$(R features | json_get '["linux"]["seccomp"]["enabled"]')" = True ]
OUT=$(R frobnicate 2>&1)
check "an unknown command is an error" grep -q "unknown command \`frobnicate\`" <<<"$OUT"
OUT=$(R create --bundle "$WORK/run" '../x' 2>&1)
check "an id with a slash is refused" grep -q "invalid container id" <<<"$OUT"

# --- pause and resume (cgroup v2 here: cgroup.freeze) -----------------------------------------
B=$(bundle pause 'i=0; while :; do i=$((i+1)); echo $i >/tmp/tick.new; mv /tmp/tick.new /tmp/tick; sleep 0.05; done')
R run --detach --bundle "$B" pz >/dev/null 2>&1
# The counter has ticked once before the pause (a loaded host may not have run it yet);
# it is written by rename, so a freeze never finds it half written.
PZ=$(R state pz | json_get '["pid"]')
for _ in $(seq 100); do [ -s /proc/$PZ/root/tmp/tick ] && break; sleep 0.05; done
check "v2: pause" R pause pz
check "v2: the state says paused" [ "$(R state pz | json_get '["status"]')" = paused ]
P1=$(cat /proc/$PZ/root/tmp/tick); sleep 0.3; P2=$(cat /proc/$PZ/root/tmp/tick)
check "v2: paused: the process does not run" [ -n "$P1" -a "$P1" = "$P2" ]
check "v2: resume" R resume pz
for _ in $(seq 100); do [ "$(cat /proc/$PZ/root/tmp/tick)" != "$P2" ] && break; sleep 0.05; done
check "v2: resumed: the process runs again" [ "$(cat /proc/$PZ/root/tmp/tick)" != "$P2" ]
R pause pz
check "v2: delete --force of a paused container" R delete --force pz

# --- a real client: podman ------------------------------------------------------------------
# podman 4.3 here: --rootfs needs no image store; the ulimits because the
# sandbox lacks CAP_SYS_RESOURCE; --pids-limit=-1 because this host's cgroup
# v2 hierarchy has no pids controller (berth refuses a limit it cannot apply).
if command -v podman >/dev/null; then
    P() { timeout 120 podman --runtime "$RUNC" "$@"; }
    POPTS=(--pids-limit=-1 --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rootfs "$WORK/rootfs")
    OUT=$(P run --rm "${POPTS[@]}" sh -c 'echo podman-out; grep NoNewPrivs /proc/self/status; echo podman-err >&2; exit 42' 2>&1); RC=$?
    check "podman run: the container's output comes through" grep -qx podman-out <<<"$OUT"
    check "podman run: stderr comes through" grep -qx podman-err <<<"$OUT"
    check "podman run: the exit code comes through" [ "$RC" = 42 ]
    CID=$(P run -d "${POPTS[@]}" sh -c 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done' 2>/dev/null)
    sleep 0.5
    check "podman run -d: the container is running" [ "$(P inspect -f '{{.State.Status}}' "$CID")" = running ]
    START=$(date +%s)
    P stop -t 20 "$CID" >/dev/null 2>&1
    check "podman stop: TERM reaches the container, which exits at once" [ $(( $(date +%s) - START )) -lt 10 ]
    check "podman stop: the container exited 0 from its TERM handler" [ "$(P inspect -f '{{.State.ExitCode}}' "$CID")" = 0 ]
    check "podman logs: the handler's output" grep -qx got-term <<<"$(P logs "$CID" 2>&1)"
    P rm "$CID" >/dev/null 2>&1
    # A pid 1 without a TERM handler ignores TERM: podman escalates to KILL.
    CID=$(P run -d "${POPTS[@]}" sleep 1000 2>/dev/null)
    P stop -t 1 "$CID" >/dev/null 2>&1
    check "podman stop -t 1: KILL after the timeout stops a container that ignores TERM" \
        [ "$(P inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$CID")" = "exited 137" ]
    P rm -f "$CID" >/dev/null 2>&1
else
    skip "podman is not installed"
fi

finish
