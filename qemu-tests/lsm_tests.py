"""AppArmor end to end: a profile compiled on the host with apparmor_parser, loaded in
the guest by an onboot container, applied to a service through `apparmorProfile`
(process.apparmorProfile in its config.json). Debian's kernels enable AppArmor."""
import os
import shutil
import subprocess

from harness import BootFailure, Vm

HERE = os.path.dirname(os.path.abspath(__file__))


def apparmor_boot(args, s):
    parser = shutil.which("apparmor_parser") or "/usr/sbin/apparmor_parser"
    if not os.path.exists(parser):
        raise BootFailure("apparmor_parser not found (apt-get install apparmor)")
    work = os.path.join(args.out, "apparmor")
    os.makedirs(os.path.join(work, "apparmor"), exist_ok=True)
    shutil.copy(os.path.join(HERE, "images", "apparmor.yml"), work)
    # -Q: compile only (this host's kernel need not have AppArmor); -S: the binary policy on stdout.
    with open(os.path.join(work, "apparmor", "berth-test.bin"), "wb") as out:
        r = subprocess.run([parser, "-Q", "-S", os.path.join(HERE, "images", "apparmor", "berth-test.profile")],
                           stdout=out, stderr=subprocess.PIPE, text=False)
    if r.returncode != 0:
        raise BootFailure(f"apparmor_parser failed: {r.stderr.decode(errors='replace')}")
    cmd = [args.berth, "build", "-o", work, "--name", "aa", "--images", args.images, "--arch", args.arch]
    if args.init:
        cmd += ["--init", args.init]
    r = subprocess.run(cmd + [os.path.join(work, "apparmor.yml")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BootFailure(f"{' '.join(cmd)} failed:\n{r.stdout}")
    vm = Vm(args.berth, os.path.join(work, "aa"), os.path.join(args.out, "apparmor.console"),
            timeout=args.boot_timeout)
    try:
        s.check("an onboot container loads a compiled AppArmor profile", lambda: vm.expect(r"aa-load: loaded", args.boot_timeout))
        s.check("the service runs under its apparmorProfile, in enforce mode",
                lambda: vm.expect(r"confined: label=berth-test \(enforce\)", 30))
        s.check("the profile's deny rule holds (reading /etc/passwd is refused)",
                lambda: vm.expect(r"confined: read denied", 30))
        s.check("a service without apparmorProfile stays unconfined",
                lambda: (vm.expect(r"unconfined: label=unconfined", 30), vm.expect(r"unconfined: read allowed", 30)))
        s.check("a profile that is not loaded fails that service alone, naming the field",
                lambda: vm.expect(r"services missing: FAILED to start: .*apparmorProfile", 30))
        s.check("the boot completes with the other services running",
                lambda: vm.expect(r"boot complete in \d+ ms: 1 onboot ok, 0 onboot failed, 2 services running", 30))
    finally:
        vm.close()
