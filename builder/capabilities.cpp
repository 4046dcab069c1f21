#include "builder/capabilities.hpp"

#include <algorithm>
#include <set>

#include "config/oci_names.hpp"

namespace berth::builder {

// The table the config.json parser validates against (config/oci_names).
const std::vector<std::string>& all_capability_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (int cap = 0; cap <= oci::capability_last(); ++cap) n.emplace_back(oci::capability_name(cap));
        return n;
    }();
    return names;
}

bool is_capability_name(const std::string& name) {
    const auto& all = all_capability_names();
    return std::find(all.begin(), all.end(), name) != all.end();
}

std::vector<std::string> expand_capabilities(const std::vector<std::string>& names) {
    std::set<std::string> out;
    for (const auto& n : names) {
        if (n == "all") {
            out.insert(all_capability_names().begin(), all_capability_names().end());
        } else {
            out.insert(n);
        }
    }
    return {out.begin(), out.end()};
}

}  // namespace berth::builder
