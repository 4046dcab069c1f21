// berth's static binary: PID 1 when started as such, otherwise a small CLI.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "init/pid1.hpp"

int main(int argc, char** argv) {
    if (::getpid() == 1) berth::init::pid1_main();
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "--version" || cmd == "version") {
        std::printf("berth %s\n", BERTH_VERSION);
        return 0;
    }
    std::fprintf(stderr,
                 "usage: berth-init --version\n"
                 "This is berth's PID 1; the kernel starts it as /init.\n");
    return cmd == "--help" || cmd == "-h" ? 0 : 2;
}
