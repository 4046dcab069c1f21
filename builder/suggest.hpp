// "Did you mean …?" suggestions for misspelt keys and names.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::builder {

// Levenshtein distance (insert, delete, substitute each cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo
// (distance <= max(2, len/3)). Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// "unknown key 'k'; did you mean 'x'?" (the key shown as shown_value shows it).
std::string unknown_key_message(std::string_view key, const std::vector<std::string>& known);

}  // namespace berth::builder
