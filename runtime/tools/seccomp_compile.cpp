// Test tool: the BPF program of a config.json's linux.seccomp, as raw struct
// sock_filter bytes on stdout.
//   berth-seccomp-compile [--program-file] CONFIG_JSON [ARCH]
// Without ARCH the runtime's own compile (native architecture, what a launch
// without a precompiled program loads); with ARCH ("x86_64", "aarch64") the
// builder's compile for that target. Run natively on each architecture, the two
// must give the same bytes (tests/integration/seccomp/cross_arch.sh).
// --program-file prints the bundle's seccomp.bpf instead, as the builder
// writes it (for the native architecture without ARCH; bench/runtime).
#include <unistd.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/seccomp_shipped.hpp"

int main(int argc, char** argv) {
    using namespace berth;
    const bool program_file = argc > 1 && std::string(argv[1]) == "--program-file";
    if (program_file) --argc, ++argv;
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: berth-seccomp-compile [--program-file] CONFIG_JSON [ARCH]\n");
        return 2;
    }
    try {
        oci::Spec spec = oci::parse_spec(nlohmann::json::parse(fs::read_file(argv[1])), argv[1]);
        if (!spec.linux_.seccomp) {
            std::fprintf(stderr, "%s: no linux.seccomp\n", argv[1]);
            return 1;
        }
        const std::string arch = argc == 3 ? argv[2] : "";
        std::string out;
        if (program_file) {
            out = runtime::precompile_seccomp(*spec.linux_.seccomp, arch.empty() ? runtime::seccomp_native_arch() : arch);
        } else {
            runtime::SeccompProgram p = runtime::compile_seccomp(*spec.linux_.seccomp, arch);
            out.assign(reinterpret_cast<const char*>(p.insns.data()), p.insns.size() * sizeof(sock_filter));
        }
        berth::fs::write_all(1, out, "standard output");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
