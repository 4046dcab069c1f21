// Internal: a validating JSON reader that records every problem with its JSON
// path ("process.args[0]") instead of stopping at the first one. Used by the
// OCI parser and meant for the other config parsers too (runtime.json).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::oci::detail {

using json = nlohmann::json;

std::string member_path(const std::string& parent, const char* key);  // "a.b"
std::string index_path(const std::string& parent, size_t i);          // "a[3]"

class Reader {
public:
    void problem(const std::string& path, const std::string& reason);
    const std::vector<std::string>& problems() const { return problems_; }

    // The member `key` of the object `obj`, or nullptr when absent or null.
    // A missing required member is recorded as "<path>.<key>: required".
    const json* member(const json& obj, const std::string& path, const char* key, bool required);

    // Records "expected <what>, got <json type>" and returns false on mismatch.
    bool expect(const json& v, const std::string& path, json::value_t t);

private:
    std::vector<std::string> problems_;
};

// Scalar readers: return false (and record a problem) when v has the wrong type
// or is out of range; `out` is left untouched then.
bool parse(Reader& r, const json& v, const std::string& path, std::string& out);
bool parse(Reader& r, const json& v, const std::string& path, bool& out);
bool parse(Reader& r, const json& v, const std::string& path, int& out);
bool parse(Reader& r, const json& v, const std::string& path, std::uint32_t& out);
bool parse(Reader& r, const json& v, const std::string& path, std::int64_t& out);
bool parse(Reader& r, const json& v, const std::string& path, std::uint64_t& out);
bool parse(Reader& r, const json& v, const std::string& path,
           std::map<std::string, std::string>& out);

template <class T>
bool parse(Reader& r, const json& v, const std::string& path, std::vector<T>& out) {
    if (!r.expect(v, path, json::value_t::array)) return false;
    out.clear();
    bool ok = true;
    for (size_t i = 0; i < v.size(); ++i) {
        T item{};
        if (parse(r, v[i], index_path(path, i), item))
            out.push_back(std::move(item));
        else
            ok = false;
    }
    return ok;
}

template <class T>
bool parse(Reader& r, const json& v, const std::string& path, std::optional<T>& out) {
    T item{};
    if (!parse(r, v, path, item)) return false;
    out = std::move(item);
    return true;
}

// Reads obj[key] into out when present; returns true only when it was present
// and valid.
template <class T>
bool field(Reader& r, const json& obj, const std::string& path, const char* key, T& out,
           bool required = false) {
    const json* m = r.member(obj, path, key, required);
    return m && parse(r, *m, member_path(path, key), out);
}

}  // namespace berth::oci::detail
