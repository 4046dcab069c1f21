// Name tables shared by the config validator and the runtime: capabilities and
// rlimits. Kept independent of libcap-ng so validation needs no system library
// and knows the same names whatever kernel berth later runs on.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::oci {

// "CAP_SYS_ADMIN" -> 21. Names are case-sensitive, as in the spec.
std::optional<int> capability_from_name(std::string_view name);
// 21 -> "CAP_SYS_ADMIN"; "" when unknown.
std::string_view capability_name(int cap);
// Highest capability number berth knows (CAP_CHECKPOINT_RESTORE).
int capability_last();

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimit_from_name(std::string_view name);
// Every rlimit name berth knows ("RLIMIT_AS" ... "RLIMIT_STACK").
std::vector<std::string> rlimit_names();

}  // namespace berth::oci
