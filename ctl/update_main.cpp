// berth-update: `berth update status|apply FILE|rollback` (ctl/update_cmd.cpp)
// as a static program of its own, which only A/B images carry (as
// /usr/lib/berth/berth-update; the in-image `berth update` runs it). The
// bundle's Ed25519 check (hogweed with GMP) stays out of PID 1's binary.
#include <cstdlib>
#include <string>
#include <vector>

#include "common/control_protocol.hpp"
#include "ctl/ctl.hpp"

int main(int argc, char** argv) {
    const char* env = std::getenv("BERTH_CONTROL");
    std::string socket = env && *env ? env : berth::control::kSocketPath;
    return berth::ctl::update_main(socket, berth::control::kClientTimeoutMs,
                                   std::vector<std::string>(argv + 1, argv + argc));
}
