// Linux capability names as used in the YAML and in OCI config.json.
#pragma once
#include <string>
#include <vector>

namespace berth::builder {

// CAP_CHOWN … CAP_CHECKPOINT_RESTORE, in capability-number order.
const std::vector<std::string>& all_capability_names();
bool is_capability_name(const std::string& name);

// Expand "all" and de-duplicate; result is sorted by name.
std::vector<std::string> expand_capabilities(const std::vector<std::string>& names);

}  // namespace berth::builder
