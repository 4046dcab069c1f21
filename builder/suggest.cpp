#include "builder/suggest.hpp"

#include <algorithm>
#include <numeric>

#include "builder/yaml_input.hpp"

namespace berth::builder {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
            diag = up;
        }
    }
    return row[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
    std::optional<std::string> best;
    // A key is a word: a longer "word" is no typo, and distance is quadratic.
    if (word.size() > 256) return best;
    std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

std::string unknown_key_message(std::string_view key, const std::vector<std::string>& known) {
    std::string msg = "unknown key " + shown_value(key);
    if (auto best = closest_match(key, known)) msg += "; did you mean '" + *best + "'?";
    return msg;
}

}  // namespace berth::builder
