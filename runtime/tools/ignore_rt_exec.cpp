// Test helper: sets SIG_IGN on glibc's two reserved real-time signals (32 and
// 33, which sigaction(3) refuses) with the raw system call, then execs argv[1..].
// Reproduces a CI environment that handed them down ignored.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    for (int sig : {32, 33}) {
        // Kernel struct sigaction: handler, flags, restorer, mask.
        unsigned long ksa[4] = {reinterpret_cast<unsigned long>(SIG_IGN), 0, 0, 0};
        if (syscall(SYS_rt_sigaction, sig, ksa, nullptr, sizeof(unsigned long)) < 0) {
            std::perror("rt_sigaction");
            return 1;
        }
    }
    execv(argv[1], argv + 1);
    std::perror("execv");
    return 127;
}
