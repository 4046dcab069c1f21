// CPU and NUMA node lists ("0-3,7") and the two fields built on them:
// process.execCPUAffinity and linux.memoryPolicy.
#include <stdexcept>

#include <fmt/format.h>

#include "config/json_reader.hpp"
#include "config/oci_spec.hpp"

namespace berth::oci {

namespace {

// The kernel's mode numbers (linux/mempolicy.h; MPOL_WEIGHTED_INTERLEAVE is
// newer than Debian 12's headers, so all are spelled out here).
constexpr std::pair<std::string_view, int> kMpolModes[] = {
    {"MPOL_DEFAULT", 0}, {"MPOL_PREFERRED", 1},      {"MPOL_BIND", 2},
    {"MPOL_INTERLEAVE", 3}, {"MPOL_LOCAL", 4},       {"MPOL_PREFERRED_MANY", 5},
    {"MPOL_WEIGHTED_INTERLEAVE", 6},
};
constexpr std::pair<std::string_view, int> kMpolFlags[] = {
    {"MPOL_F_NUMA_BALANCING", 1 << 13}, {"MPOL_F_RELATIVE_NODES", 1 << 14}, {"MPOL_F_STATIC_NODES", 1 << 15},
};
constexpr int kMpolLocal = 4, kMpolDefault = 0, kMpolPreferred = 1;

// Largest CPU and node counts a Linux kernel can be built with (NR_CPUS,
// 1 << NODES_SHIFT).
constexpr unsigned kMaxCpus = 8192;
constexpr unsigned kMaxNodes = 1024;

unsigned parse_number(const std::string& text, size_t& at) {
    size_t start = at;
    unsigned long v = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
        v = v * 10 + unsigned(text[at] - '0');
        if (v > 0xffffffUL) throw std::invalid_argument(fmt::format("number too large in \"{}\"", text));
        ++at;
    }
    if (at == start)
        throw std::invalid_argument(fmt::format("expected a number at offset {} of \"{}\"", start, text));
    return unsigned(v);
}

}  // namespace

IdSet parse_id_set(const std::string& text, unsigned limit) {
    IdSet out;
    out.text = text;
    if (text.empty()) return out;
    size_t at = 0;
    while (true) {
        unsigned first = parse_number(text, at), last = first;
        if (at < text.size() && text[at] == '-') {
            ++at;
            last = parse_number(text, at);
            if (last < first) throw std::invalid_argument(fmt::format("range {}-{} runs backwards", first, last));
        }
        if (last >= limit) throw std::invalid_argument(fmt::format("{} is above the largest possible id {}", last, limit - 1));
        if (out.words.size() < last / 64 + 1) out.words.resize(last / 64 + 1, 0);
        for (unsigned i = first; i <= last; ++i) out.words[i / 64] |= std::uint64_t(1) << (i % 64);
        if (at == text.size()) break;
        if (text[at] != ',') throw std::invalid_argument(fmt::format("unexpected `{}` at offset {} of \"{}\"", text[at], at, text));
        ++at;
    }
    return out;
}

namespace detail {

namespace {

// One list field: parsed into `out`; a syntax error is a problem at its path
// (and false, so that no second problem follows from it).
bool id_set_field(Reader& r, const json& v, const std::string& path, const char* key, unsigned limit, IdSet& out) {
    std::string text;
    if (!r.member(v, path, key, false)) return true;
    if (!field(r, v, path, key, text)) return false;
    try {
        out = parse_id_set(text, limit);
        return true;
    } catch (const std::invalid_argument& e) {
        r.problem(member_path(path, key), fmt::format("invalid list \"{}\": {}", text, e.what()));
        return false;
    }
}

}  // namespace

bool parse(Reader& r, const json& v, const std::string& path, ExecCpuAffinity& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    id_set_field(r, v, path, "initial", kMaxCpus, out.initial);
    id_set_field(r, v, path, "final", kMaxCpus, out.final);
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, MemoryPolicy& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    bool known_mode = false;
    if (field(r, v, path, "mode", out.mode_name, true)) {
        for (const auto& [name, value] : kMpolModes)
            if (name == out.mode_name) {
                out.mode = value;
                known_mode = true;
            }
        if (!known_mode) r.problem(member_path(path, "mode"), fmt::format("unknown mode \"{}\"", out.mode_name));
    }
    const bool nodes_ok = id_set_field(r, v, path, "nodes", kMaxNodes, out.nodes);
    int flag_bits = 0;
    if (field(r, v, path, "flags", out.flags)) {
        for (size_t i = 0; i < out.flags.size(); ++i) {
            bool known = false;
            for (const auto& [name, value] : kMpolFlags)
                if (name == out.flags[i]) {
                    flag_bits |= value;
                    known = true;
                }
            if (!known)
                r.problem(index_path(member_path(path, "flags"), i), fmt::format("unknown flag \"{}\"", out.flags[i]));
        }
    }
    if ((flag_bits & (1 << 14)) && (flag_bits & (1 << 15)))
        r.problem(member_path(path, "flags"), "MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other");
    if (!known_mode || !nodes_ok) return true;
    // The kernel's rules: no nodes for the default and local policies, at
    // least one for the policies that choose among nodes.
    bool empty = out.nodes.empty();
    if ((out.mode == kMpolDefault || out.mode == kMpolLocal) && !empty)
        r.problem(member_path(path, "nodes"), fmt::format("must be empty with {}", out.mode_name));
    else if (out.mode != kMpolDefault && out.mode != kMpolLocal && out.mode != kMpolPreferred && empty)
        r.problem(member_path(path, "nodes"), fmt::format("required with {}", out.mode_name));
    if (out.mode == kMpolDefault && flag_bits)
        r.problem(member_path(path, "flags"), "must be empty with MPOL_DEFAULT");
    out.mode |= flag_bits;
    return true;
}

}  // namespace detail
}  // namespace berth::oci
