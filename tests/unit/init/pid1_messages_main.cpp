// Linked statically with PID 1's gettext (init/gettext_c_locale.cpp), as in
// berth-init: glibc's strerror and libstdc++'s exception messages must read
// as before, whatever the locale variables say (PID 1 never calls
// setlocale). Exits non-zero if any message differs.
#include <libintl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

int failures = 0;

void expect(const std::string& got, const std::string& want) {
    if (got == want) return;
    std::fprintf(stderr, "got \"%s\", want \"%s\"\n", got.c_str(), want.c_str());
    ++failures;
}

}  // namespace

int main() {
    expect(std::strerror(EINVAL), "Invalid argument");
    expect(std::strerror(ENOENT), "No such file or directory");
    expect(std::strerror(0), "Success");
    expect(std::strerror(12345), "Unknown error 12345");
    expect(gettext("left as it is"), "left as it is");
    expect(dcgettext("libc", "left as it is", LC_MESSAGES), "left as it is");
    std::vector<int> empty;
    try {
        (void)empty.at(3);
        ++failures;
    } catch (const std::out_of_range& e) {
        expect(e.what(), "vector::_M_range_check: __n (which is 3) >= this->size() (which is 0)");
    }
    return failures == 0 ? 0 : 1;
}
