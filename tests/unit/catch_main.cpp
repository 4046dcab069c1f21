#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "skip.hpp"

namespace berth::test {
std::vector<std::string>& skipped_tests() {
    static std::vector<std::string> list;
    return list;
}
}  // namespace berth::test

int main(int argc, char** argv) {
    int rc = Catch::Session().run(argc, argv);
    const auto& skipped = berth::test::skipped_tests();
    for (const auto& s : skipped) std::printf("skipped: %s\n", s.c_str());
    std::printf("%zu test cases skipped\n", skipped.size());
    return rc;
}
