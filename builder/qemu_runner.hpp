// `berth run qemu PREFIX`: boots PREFIX-kernel + PREFIX-initrd.img with the
// command line in PREFIX-cmdline, serial console on stdio.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "builder/accel_probe.hpp"

namespace berth::builder {

struct PortForward {
    std::string protocol = "tcp";  // tcp | udp
    unsigned host_port = 0;
    unsigned guest_port = 0;
};

// "8080:80", "8080:80/tcp", "5353:53/udp"; throws on anything else.
PortForward parse_publish(const std::string& s);

struct QemuOptions {
    std::string prefix;  // OUTDIR/NAME
    std::string qemu = "qemu-system-x86_64";
    unsigned mem_mb = 512;
    unsigned cpus = 1;
    std::vector<PortForward> publish;
    AccelMode accel = AccelMode::automatic;
    std::optional<unsigned> timeout_s;
    std::string append;  // extra kernel command line
    std::string monitor; // unix socket path for the QEMU human monitor; "" = none
};

// The full QEMU command line for an already chosen accelerator.
std::vector<std::string> qemu_command(const QemuOptions& o, Accel accel, const std::string& cmdline);

// Runs QEMU in the foreground; returns its exit status (124 on --timeout, 128+N if
// it was killed by signal N). SIGINT/SIGTERM/SIGHUP are forwarded to QEMU.
int run_qemu(const QemuOptions& o);

}  // namespace berth::builder
