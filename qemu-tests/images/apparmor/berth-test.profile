abi <abi/3.0>,
# The QEMU test's profile: everything allowed except reading /etc/passwd, so a
# container under it shows both its label and a denial. Compiled on the host with
# `apparmor_parser -Q -S` and loaded in the guest by an onboot container.
profile berth-test flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  unix,
  deny /etc/passwd r,
}
