// LinuxKit's runtime.json, done by PID 1 before a bundle's container first starts:
// `mounts` (in PID 1's mount namespace: the overlay of a container that is not
// read-only, its tmpfs...), then `mkdir`, then `cgroups`. Relative paths are
// relative to the bundle's rootfs/, as LinuxKit's service prepare step has them.
// `interfaces` and `bindNS` are applied at each start
// (init/container_interfaces.hpp, init/namespace_binding.hpp). `namespace` is
// not implemented: the model refuses a bundle that asks for it rather than
// running it differently.
#pragma once
#include <string>

#include "config/runtime_config.hpp"

namespace berth::init {

// Applies runtime.json (parsed and checked by config/runtime_config, the model
// `berth build` writes it with) for the bundle at `bundle_dir`. Throws
// berth::Error naming runtime.json, the entry and the errno.
void apply_runtime_config(const config::RuntimeConfig& rt, const std::string& bundle_dir);

// <bundle_dir>/runtime.json parsed and checked; empty when there is none.
// Throws berth::Error / oci::ConfigError naming the file.
config::RuntimeConfig read_runtime_config(const std::string& bundle_dir);

// Reads <bundle_dir>/runtime.json (absent: nothing to do) and applies it, once per
// bundle for the life of PID 1: a restarted service keeps its mounts. Each
// start runs in its own launch process, so "once" is remembered by a marker
// file in marker_dir (on /run); "" remembers in this process's memory only.
void prepare_bundle_once(const std::string& bundle_dir, const std::string& marker_dir = "");

}  // namespace berth::init
