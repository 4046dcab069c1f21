// The seccomp model of a minimal config.json holding `seccomp`, for the tests of
// the filter compiler and its cache.
#pragma once
#include <nlohmann/json.hpp>

#include "config/oci_spec.hpp"

namespace berth::test {

inline oci::Seccomp seccomp_model(const nlohmann::json& seccomp) {
    nlohmann::json j = nlohmann::json::parse(R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
      "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
      "linux": {"namespaces": [{"type": "mount"}]}})");
    j["linux"]["seccomp"] = seccomp;
    return *oci::parse_spec(j, "config.json").linux_.seccomp;
}

}  // namespace berth::test
