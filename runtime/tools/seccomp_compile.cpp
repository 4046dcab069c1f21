// Test tool: the BPF program of a config.json's linux.seccomp, as raw struct
// sock_filter bytes on stdout.
//   berth-seccomp-compile CONFIG_JSON [ARCH]
// Without ARCH the runtime's own compile (native architecture, what a launch
// without a precompiled program loads); with ARCH ("x86_64", "aarch64") the
// builder's compile for that target. Run natively on each architecture, the two
// must give the same bytes (tests/integration/seccomp/cross_arch.sh).
#include <unistd.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "config/oci_spec.hpp"
#include "runtime/seccomp.hpp"

int main(int argc, char** argv) {
    using namespace berth;
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s CONFIG_JSON [ARCH]\n", argv[0]);
        return 2;
    }
    try {
        oci::Spec spec = oci::parse_spec(nlohmann::json::parse(fs::read_file(argv[1])), argv[1]);
        if (!spec.linux_.seccomp) {
            std::fprintf(stderr, "%s: no linux.seccomp\n", argv[1]);
            return 1;
        }
        runtime::SeccompProgram p = runtime::compile_seccomp(*spec.linux_.seccomp, argc == 3 ? argv[2] : "");
        const char* at = reinterpret_cast<const char*>(p.insns.data());
        std::size_t left = p.insns.size() * sizeof(sock_filter);
        while (left > 0) {
            ssize_t n = ::write(1, at, left);
            if (n <= 0) {
                std::perror("write");
                return 1;
            }
            at += n;
            left -= std::size_t(n);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
