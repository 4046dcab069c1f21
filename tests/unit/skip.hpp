// BERTH_SKIP("why"): ends a test case that cannot run here, visibly. Catch2 v2
// has no skip, and a WARN followed by return counts as a pass; this also records
// the test case, and the test binary's main prints every skip and their count
// after Catch's own summary.
#pragma once
#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace berth::test {
// "test case name: why", one per skip, in order.
std::vector<std::string>& skipped_tests();
}  // namespace berth::test

#define BERTH_SKIP(why)                                                                        \
    do {                                                                                       \
        ::berth::test::skipped_tests().push_back(                                              \
            Catch::getResultCapture().getCurrentTestName() + ": " + std::string(why));         \
        WARN("skipped: " << (why));                                                            \
        return;                                                                                \
    } while (0)
