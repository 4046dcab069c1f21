// A device a container asks for by what it is rather than by number, so that it
// may appear after the image was built, at boot or while the container runs
// (berth's extension of LinuxKit's `devices:`). PID 1 creates its node in the
// container and allows it in the container's device cgroup while it is present.
// The YAML entry and runtime.json's "berth.devices" entry have the same shape:
//   {match: "/dev/vdb"}                           kernel name, a glob allowed ("/dev/ttyUSB*")
//   {match: "/dev/disk/by-id/virtio-data*"}       one of the device's /dev/disk links, a glob
//   {match: "modalias:pci:v00001AF4d*"}            the modalias of the device or of a parent
//   {match: "1af4:1042"}                          PCI or USB vendor:product of it or a parent
// with optional `mode` (octal, default "0660"), `uid` and `gid` (default 0) for the node.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::config {

struct DeviceMatch {
    enum class By { name, disk_link, modalias, id };
    By by = By::name;
    std::string pattern;   // name: "/dev/vd[b-z]"; disk_link: "/dev/disk/by-id/x*"; modalias: "pci:v*"; id: "1af4:1042"
    std::uint32_t mode = 0660;
    std::uint32_t uid = 0, gid = 0;
    bool operator==(const DeviceMatch&) const = default;
};

// One entry; each problem is appended as "<path>.<key>: <reason>". Returns the
// entry read so far (defaults where a value was wrong).
DeviceMatch parse_device_match(const nlohmann::json& entry, const std::string& path, std::vector<std::string>& problems);

// The entry parse_device_match() reads back.
nlohmann::json to_json(const DeviceMatch& m);

// "1AF4:1042" -> "1af4:1042"; "" when it is not two 4-digit hex numbers.
std::string normalise_device_id(const std::string& text);

}  // namespace berth::config
