#include "config/oci_resource_keys.hpp"

namespace berth::oci {
namespace {

using K = ResourceKey::Kind;

ResourceKey value(const char* n) { return {n, K::value, {}, false}; }
ResourceKey ignored(const char* n) { return {n, K::value, {}, true}; }
ResourceKey object(const char* n, std::vector<ResourceKey> c) { return {n, K::object, std::move(c), false}; }
ResourceKey list(const char* n, std::vector<ResourceKey> c) { return {n, K::list_of_objects, std::move(c), false}; }

std::vector<ResourceKey> throttle() { return {value("major"), value("minor"), value("rate")}; }

}  // namespace

const std::vector<ResourceKey>& resource_keys() {
    static const std::vector<ResourceKey> keys = {
        object("memory", {value("limit"), value("reservation"), value("swap"), ignored("kernel"),
                          ignored("kernelTCP"), value("swappiness"), value("disableOOMKiller")}),
        object("cpu", {value("shares"), value("quota"), value("burst"), value("period"), value("realtimeRuntime"),
                       value("realtimePeriod"), value("cpus"), value("mems"), value("idle")}),
        object("pids", {value("limit")}),
        list("devices", {value("allow"), value("type"), value("major"), value("minor"), value("access")}),
        object("blockIO",
               {value("weight"), value("leafWeight"),
                list("weightDevice", {value("major"), value("minor"), value("weight"), value("leafWeight")}),
                list("throttleReadBpsDevice", throttle()), list("throttleWriteBpsDevice", throttle()),
                list("throttleReadIOPSDevice", throttle()), list("throttleWriteIOPSDevice", throttle())}),
        list("hugepageLimits", {value("pageSize"), value("limit")}),
        object("network", {value("classID"), list("priorities", {value("name"), value("priority")})}),
        value("unified"),
        value("rdma"),
    };
    return keys;
}

}  // namespace berth::oci
