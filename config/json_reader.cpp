#include "config/json_reader.hpp"

#include <limits>

namespace berth::oci::detail {
namespace {

const char* type_word(json::value_t t) {
    switch (t) {
        case json::value_t::object: return "object";
        case json::value_t::array: return "array";
        case json::value_t::string: return "string";
        case json::value_t::boolean: return "boolean";
        default: return "number";
    }
}

std::string got(const json& v) {
    if (v.is_number()) return "got number " + v.dump();
    return std::string("got ") + v.type_name();
}

// Integer readers share one range check; floats are rejected rather than
// silently truncated.
template <class T>
bool parse_int(Reader& r, const json& v, const std::string& path, T& out, const char* what) {
    if (!v.is_number_integer()) {
        r.problem(path, std::string("expected ") + what + ", " +
                            (v.is_number() ? std::string("got number ") + v.dump() : got(v)));
        return false;
    }
    bool ok;
    if (v.is_number_unsigned()) {
        auto u = v.get<std::uint64_t>();
        ok = u <= std::uint64_t(std::numeric_limits<T>::max());
    } else {
        auto s = v.get<std::int64_t>();
        ok = s >= std::int64_t(std::numeric_limits<T>::min()) &&
             (s < 0 || std::uint64_t(s) <= std::uint64_t(std::numeric_limits<T>::max()));
    }
    if (!ok) {
        r.problem(path, "value " + v.dump() + " out of range for " + what);
        return false;
    }
    out = v.get<T>();
    return true;
}

}  // namespace

std::string member_path(const std::string& parent, const char* key) {
    return parent.empty() ? std::string(key) : parent + "." + key;
}

std::string index_path(const std::string& parent, size_t i) {
    return parent + "[" + std::to_string(i) + "]";
}

void Reader::problem(const std::string& path, const std::string& reason) {
    problems_.push_back(path.empty() ? reason : path + ": " + reason);
}

const json* Reader::member(const json& obj, const std::string& path, const char* key,
                           bool required) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        if (required) problem(member_path(path, key), "required");
        return nullptr;
    }
    return &*it;
}

bool Reader::expect(const json& v, const std::string& path, json::value_t t) {
    if (v.type() == t) return true;
    problem(path, std::string("expected ") + type_word(t) + ", " + got(v));
    return false;
}

bool parse(Reader& r, const json& v, const std::string& path, std::string& out) {
    if (!r.expect(v, path, json::value_t::string)) return false;
    out = v.get<std::string>();
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, bool& out) {
    if (!r.expect(v, path, json::value_t::boolean)) return false;
    out = v.get<bool>();
    return true;
}

bool parse(Reader& r, const json& v, const std::string& path, int& out) {
    return parse_int(r, v, path, out, "32-bit integer");
}
bool parse(Reader& r, const json& v, const std::string& path, std::uint32_t& out) {
    return parse_int(r, v, path, out, "unsigned 32-bit integer");
}
bool parse(Reader& r, const json& v, const std::string& path, std::int64_t& out) {
    return parse_int(r, v, path, out, "64-bit integer");
}
bool parse(Reader& r, const json& v, const std::string& path, std::uint64_t& out) {
    return parse_int(r, v, path, out, "unsigned 64-bit integer");
}

bool parse(Reader& r, const json& v, const std::string& path,
           std::map<std::string, std::string>& out) {
    if (!r.expect(v, path, json::value_t::object)) return false;
    bool ok = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
        std::string s;
        if (parse(r, it.value(), path + "." + it.key(), s))
            out[it.key()] = std::move(s);
        else
            ok = false;
    }
    return ok;
}

}  // namespace berth::oci::detail
