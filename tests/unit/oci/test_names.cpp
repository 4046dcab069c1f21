#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "config/oci_names.hpp"
#include "config/oci_spec.hpp"

using namespace berth::oci;

TEST_CASE("capability names map to kernel numbers and back") {
    CHECK(capability_from_name("CAP_CHOWN") == 0);
    CHECK(capability_from_name("CAP_SYS_ADMIN") == 21);
    CHECK(capability_from_name("CAP_CHECKPOINT_RESTORE") == 40);
    CHECK_FALSE(capability_from_name("CAP_NOPE"));
    CHECK_FALSE(capability_from_name("sys_admin"));
    for (int c = 0; c <= capability_last(); ++c) CHECK(capability_from_name(capability_name(c)) == c);
    CHECK(capability_name(capability_last() + 1).empty());
}

TEST_CASE("rlimit and namespace names") {
    CHECK(rlimit_from_name("RLIMIT_NOFILE") == RLIMIT_NOFILE);
    CHECK(rlimit_from_name("RLIMIT_RTTIME") == RLIMIT_RTTIME);
    CHECK_FALSE(rlimit_from_name("NOFILE"));
    CHECK(namespace_from_name("network") == NamespaceType::network);
    CHECK(namespace_name(NamespaceType::cgroup) == "cgroup");
    CHECK_FALSE(namespace_from_name("net"));
}
