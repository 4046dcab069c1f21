// A minimal valid config.json shared by the OCI tests.
#pragma once
#include <nlohmann/json.hpp>

inline nlohmann::json minimal_config() {
    return nlohmann::json::parse(R"({
      "ociVersion": "1.0.2",
      "root": {"path": "rootfs"},
      "process": {"args": ["/bin/sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
      "linux": {"namespaces": [{"type": "mount"}]}
    })");
}
