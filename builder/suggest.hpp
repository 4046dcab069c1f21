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

}  // namespace berth::builder
