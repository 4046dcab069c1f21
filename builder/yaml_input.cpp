#include "builder/yaml_input.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "builder/yaml_model.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/utf8.hpp"

namespace berth::builder {
namespace {

// Line and column (from 1) of byte `offset`, columns counted in characters.
SourcePos position_of(const std::string& text, std::size_t offset, const std::string& file) {
    int line = 1, column = 1;
    for (std::size_t i = 0; i < offset && i < text.size();) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
            ++i;
            continue;
        }
        std::size_t n = utf8::char_length(text, i);
        i += n ? n : 1;
        ++column;
    }
    return {file, line, column};
}

// Counts the nodes of a document as the walk over its tree will visit them: an
// alias counts as many nodes as its anchored node has, aliases inside included.
class ExpansionCounter : public YAML::EventHandler {
public:
    ExpansionCounter(std::string file, std::size_t limit) : file_(std::move(file)), limit_(limit) {}

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { done(m, 1, a); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a, const std::string&) override {
        done(m, 1, a);
    }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
        // yaml-cpp links such an alias back to the open node: a cycle that any
        // walk over the tree would follow until its stack ran out.
        if (std::any_of(open_.begin(), open_.end(), [&](const Open& o) { return o.anchor == a; }))
            throw YamlError({file_, m.line + 1, m.column + 1}, "",
                            "an alias inside the list or map its anchor names (a cycle); refused");
        auto it = size_of_.find(a);
        done(m, it == size_of_.end() ? 1 : it->second, 0);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                         YAML::EmitterStyle::value) override {
        open_.push_back({1, a, m});
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
        open_.push_back({1, a, m});
    }
    void OnMapEnd() override { close(); }

private:
    struct Open {
        std::size_t nodes;
        YAML::anchor_t anchor;
        YAML::Mark mark;
    };

    std::size_t add(std::size_t a, std::size_t b) const { return std::min(a + b, limit_ + 1); }

    // A node of `nodes` nodes (itself and what it holds) ends at `m`.
    void done(const YAML::Mark& m, std::size_t nodes, YAML::anchor_t anchor) {
        if (anchor) size_of_[anchor] = nodes;
        if (!open_.empty()) open_.back().nodes = add(open_.back().nodes, nodes);
        // Children were counted in the total as they ended; a list or map adds itself.
        total_ = add(total_, nodes);
        if (total_ > limit_)
            throw YamlError({file_, m.line + 1, m.column + 1}, "",
                            fmt::format("more than {} nodes once aliases are expanded (aliases nested in "
                                        "aliases, as in a \"billion laughs\" file); refused",
                                        limit_));
    }

    void close() {
        Open o = open_.back();
        open_.pop_back();
        if (o.anchor) size_of_[o.anchor] = o.nodes;
        if (!open_.empty()) open_.back().nodes = add(open_.back().nodes, o.nodes);
        total_ = add(total_, 1);
        if (total_ > limit_) done(o.mark, 0, 0);  // throws
    }

    std::string file_;
    std::size_t limit_;
    std::size_t total_ = 0;
    std::vector<Open> open_;
    std::unordered_map<YAML::anchor_t, std::size_t> size_of_;
};

}  // namespace

namespace {

SourcePos position_of(const YAML::Node& n, const std::string& file) {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return {file, 0, 0};
    return {file, m.line + 1, m.column + 1};
}

// `<<` written plain: a quoted "<<" is an ordinary key.
bool is_merge_key(const YAML::Node& key) { return key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<"; }

}  // namespace

void resolve_merge_keys(YAML::Node node, const std::string& file) {
    // Every node is visited once per path to it, which check_yaml_input bounds
    // (kYamlMaxExpandedNodes); a map merged once has no `<<` left to apply again.
    if (node.IsSequence()) {
        for (YAML::Node item : node) resolve_merge_keys(item, file);
        return;
    }
    if (!node.IsMap()) return;
    std::vector<YAML::Node> merge_keys;
    std::vector<YAML::Node> sources;  // in order of precedence
    for (auto kv : node) {
        resolve_merge_keys(kv.second, file);  // nested merges first, in the merged maps too
        if (!is_merge_key(kv.first)) continue;
        merge_keys.push_back(kv.first);
        if (kv.second.IsMap()) {
            sources.push_back(kv.second);
            continue;
        }
        if (kv.second.IsSequence()) {
            for (YAML::Node item : kv.second) {
                if (!item.IsMap())
                    throw YamlError(position_of(item, file), "",
                                    "a merge key '<<' takes a map or a list of maps; this item is not a map");
                sources.push_back(item);
            }
            continue;
        }
        throw YamlError(position_of(kv.second, file), "", "a merge key '<<' takes a map or a list of maps");
    }
    if (merge_keys.empty()) return;
    for (const YAML::Node& key : merge_keys) node.remove(key);
    for (const YAML::Node& source : sources)
        for (auto kv : source)
            if (kv.first.IsScalar() && !std::as_const(node)[kv.first.Scalar()]) node.force_insert(kv.first, kv.second);
}

std::string read_yaml_file(const std::string& path) {
    try {
        return fs::read_file_bounded(path, kYamlMaxBytes);
    } catch (const Error& e) {
        if (e.code() != EFBIG) throw;
        throw Error(fmt::format("{}: larger than {} MiB; an image description is refused beyond that", path,
                                kYamlMaxBytes >> 20),
                    EFBIG);
    }
}

void check_yaml_input(const std::string& text, const std::string& file) {
    if (std::size_t nul = text.find('\0'); nul != std::string::npos)
        throw YamlError(position_of(text, nul, file), "",
                        "a NUL byte: not a UTF-8 text file (a UTF-16 file must be saved as UTF-8)");
    for (std::size_t i = 0; i < text.size();) {
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = utf8::char_length(text, i);
        if (n == 0)
            throw YamlError(position_of(text, i, file), "",
                            fmt::format("byte 0x{:02x} is not UTF-8; YAML files must be UTF-8 text",
                                        static_cast<unsigned char>(text[i])));
        i += n;
    }
    std::istringstream in(text);
    YAML::Parser parser(in);
    ExpansionCounter counter(file, kYamlMaxExpandedNodes);
    try {
        while (parser.HandleNextDocument(counter)) {
        }
    } catch (const YAML::DeepRecursion& e) {
        throw YamlError({file, e.mark.line + 1, e.mark.column + 1}, "",
                        "YAML syntax error: lists and maps nested deeper than the YAML parser allows "
                        "(a few hundred levels)");
    } catch (const YAML::Exception&) {
        // A syntax error: the parser that reads the file reports it.
    }
}

std::string shown_value(std::string_view v) {
    constexpr std::size_t kShownChars = 60;
    std::string out = "'";
    std::size_t chars = 0, i = 0;
    for (; i < v.size() && chars < kShownChars; ++chars) {
        unsigned char c = static_cast<unsigned char>(v[i]);
        std::size_t n = c < 0x80 ? 1 : utf8::char_length(v, i);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7f || n == 0) out += fmt::format("\\x{:02x}", c);
        else out.append(v.substr(i, n));
        i += n ? n : 1;
    }
    out += "'";
    if (i < v.size()) {
        out.insert(out.size() - 1, "...");
        out += fmt::format(" ({} bytes)", v.size());
    }
    return out;
}

}  // namespace berth::builder
