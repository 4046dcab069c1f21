// berth's static binary: PID 1 when started as such, otherwise a small CLI.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "ctl/ctl.hpp"
#include "init/pid1.hpp"

int main(int argc, char** argv) {
    if (::getpid() == 1) berth::init::pid1_main();
    // argv[0] dispatch: `berth ps` through a symlink, `berth-init ctl ps` otherwise.
    std::string self = argc > 0 ? argv[0] : "";
    self = self.substr(self.rfind('/') + 1);
    if (self == "berth" || self == "berthctl") return berth::ctl::ctl_main(argc - 1, argv + 1);
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "ctl") return berth::ctl::ctl_main(argc - 2, argv + 2);
    if (cmd == "--version" || cmd == "version") {
        std::printf("berth %s\n", BERTH_VERSION);
        return 0;
    }
    // Help asked for goes to stdout (status 0); a wrong command line says what is wrong.
    bool help = cmd == "--help" || cmd == "-h" || cmd == "help";
    if (!help && !cmd.empty()) std::fprintf(stderr, "berth-init: unknown command `%s`\n", cmd.c_str());
    std::fputs("usage: berth-init --version\n"
               "       berth-init ctl COMMAND...   (see berth-init ctl --help)\n"
               "This is berth's PID 1; the kernel starts it as /init.\n",
               help ? stdout : stderr);
    return help ? 0 : 2;
}
