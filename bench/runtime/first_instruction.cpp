// Benchmark probe: the container's first instruction. Prints CLOCK_MONOTONIC
// (not namespaced here) as early as main() can, so the bench can subtract the
// moment the start was decided. Static: no dynamic loader time in the figure.
#include <time.h>
#include <unistd.h>

#include <cstdio>

int main() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char buf[48];
    int n = std::snprintf(buf, sizeof buf, "first-instruction %lld\n",
                          (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    return write(1, buf, size_t(n)) == n ? 0 : 1;
}
