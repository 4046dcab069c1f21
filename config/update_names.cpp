// The A/B disk's names (config/update_bundle.hpp), apart from the bundle's
// code: PID 1 links these without the Ed25519 check.
#include <string>

#include "config/update_bundle.hpp"

namespace berth::update {

std::string slot_part_name(char slot) { return std::string("berth-root-") + slot; }

std::string boot_entry_file(const BootEntryName& e) {
    std::string s = "berth-" + std::to_string(e.generation) + "-" + e.slot;
    if (e.tries_left >= 0) {
        s += "+" + std::to_string(e.tries_left);
        if (e.tries_done >= 0) s += "-" + std::to_string(e.tries_done);
    }
    return s + ".efi";
}

std::optional<BootEntryName> parse_boot_entry_file(const std::string& file) {
    // berth-GEN-X[+LEFT[-DONE]].efi
    const std::string prefix = "berth-", suffix = ".efi";
    if (file.size() < prefix.size() + suffix.size() + 3 || file.compare(0, prefix.size(), prefix) != 0 ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
        return std::nullopt;
    std::string s = file.substr(prefix.size(), file.size() - prefix.size() - suffix.size());
    auto number = [](const std::string& t) -> long {
        if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos) return -1;
        return std::stol(t);
    };
    BootEntryName e;
    std::size_t dash = s.find('-');
    if (dash == std::string::npos) return std::nullopt;
    long gen = number(s.substr(0, dash));
    if (gen < 0 || dash + 2 > s.size()) return std::nullopt;
    e.generation = unsigned(gen);
    e.slot = s[dash + 1];
    if (e.slot != 'a' && e.slot != 'b') return std::nullopt;
    std::string rest = s.substr(dash + 2);
    if (rest.empty()) return e;
    if (rest[0] != '+') return std::nullopt;
    rest = rest.substr(1);
    std::size_t minus = rest.find('-');
    long left = number(rest.substr(0, minus));
    if (left < 0) return std::nullopt;
    e.tries_left = int(left);
    if (minus != std::string::npos) {
        long done = number(rest.substr(minus + 1));
        if (done < 0) return std::nullopt;
        e.tries_done = int(done);
    }
    return e;
}

}  // namespace berth::update
