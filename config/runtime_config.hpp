// A bundle's runtime.json: LinuxKit's side file next to config.json (mounts
// PID 1 makes before the container first starts, directories, cgroups) plus
// berth's service policy in "berth". `berth build` writes it through this model
// and PID 1 reads it with the same one, so the build refuses what the boot would.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/service_policy.hpp"

namespace berth::config {

// A mount made in PID 1's mount namespace; relative paths are under rootfs/.
// No type and only propagation options: change the propagation of `destination`.
struct RuntimeMount {
    std::string destination;
    std::string type;
    std::string source;  // "" = the type
    std::vector<std::string> options;
    bool operator==(const RuntimeMount&) const = default;
};

// One entry of LinuxKit's `interfaces`: a network interface that ends up in
// the container's network namespace before its program starts.
//  - no `add`: the existing interface `name` of the root namespace is moved in;
//  - `add: veth` (implied by `peer`): a veth pair, `name` inside, `peer` left
//    in the root namespace (to give an address to or attach to a bridge);
//  - any other `add` (a link kind: wireguard, dummy...): created inside, or
//    created in the root namespace and then moved in when `createInRoot`
//    (wireguard's socket then stays in the root namespace).
struct RuntimeInterface {
    std::string name;
    std::string add;   // "" = move an existing interface; "veth" when `peer` is given
    std::string peer;  // veth only
    bool create_in_root = false;
    bool operator==(const RuntimeInterface&) const = default;
};

struct RuntimeConfig {
    std::vector<RuntimeMount> mounts;  // in order; mkdir comes after them
    std::vector<std::string> mkdir;    // relative: under rootfs/
    std::vector<std::string> cgroups;  // relative names under /sys/fs/cgroup
    // LinuxKit's bindNS: namespace (cgroup, ipc, mnt, net, pid, user, uts) ->
    // absolute path where PID 1 binds the container's namespace after its
    // setup and before its program starts, so that later containers can join
    // it by path (`net: /run/netns/wg`).
    std::map<std::string, std::string> bind_ns;
    // LinuxKit's interfaces, in order, made before the bindNS binds.
    std::vector<RuntimeInterface> interfaces;
    ServicePolicy berth;
    bool operator==(const RuntimeConfig&) const = default;
};

// Parses and checks the whole document; throws ConfigError naming `source` and
// listing every problem with its path ("mounts[0].destination: required").
// LinuxKit's namespace (a containerd namespace) is refused: berth has no
// containerd, and an image must not boot meaning something else.
RuntimeConfig parse_runtime_config(const nlohmann::json& doc, const std::string& source);

// The bindNS namespace names, as /proc/PID/ns/ spells them.
const std::vector<std::string>& bind_ns_types();

// The document parse_runtime_config() reads back as `c`; empty lists and a
// default policy are left out.
nlohmann::json to_json(const RuntimeConfig& c);

}  // namespace berth::config
