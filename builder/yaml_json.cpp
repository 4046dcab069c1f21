#include "builder/yaml_json.hpp"

namespace berth::builder {

namespace {

SourcePos pos_of(const YAML::Node& n, const std::string& file) {
    YAML::Mark m = n.Mark();
    if (m.is_null()) return {file, 0, 0};
    return {file, m.line + 1, m.column + 1};
}

nlohmann::json scalar(const YAML::Node& n) {
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") return s;  // quoted
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    bool neg = !s.empty() && s[0] == '-';
    std::string digits = neg ? s.substr(1) : s;
    if (!digits.empty() && digits.size() <= 18 && digits.find_first_not_of("0123456789") == std::string::npos &&
        (digits.size() == 1 || digits[0] != '0')) {
        long long v = std::stoll(digits);
        if (neg) return -v;
        return static_cast<unsigned long long>(v);
    }
    return s;
}

}  // namespace

nlohmann::json yaml_to_json(const YAML::Node& n, const std::string& path, const std::string& file,
                            std::map<std::string, SourcePos>& positions) {
    positions[path] = pos_of(n, file);
    switch (n.Type()) {
        case YAML::NodeType::Scalar: return scalar(n);
        case YAML::NodeType::Sequence: {
            nlohmann::json a = nlohmann::json::array();
            for (std::size_t i = 0; i < n.size(); ++i)
                a.push_back(yaml_to_json(n[i], path + "[" + std::to_string(i) + "]", file, positions));
            return a;
        }
        case YAML::NodeType::Map: {
            nlohmann::json o = nlohmann::json::object();
            for (const auto& kv : n) {
                if (!kv.first.IsScalar())
                    throw YamlError(pos_of(kv.first, file), path, "expected a string key, got a structured key");
                const std::string& key = kv.first.Scalar();
                std::string p = path.empty() ? key : path + "." + key;
                if (o.contains(key))
                    throw YamlError(pos_of(kv.first, file), path,
                                    "duplicate key '" + key + "' (first at " + positions[p].str() + ")");
                o[key] = yaml_to_json(kv.second, p, file, positions);
                // Errors about an unknown key point at the key itself.
                positions[p + "#key"] = pos_of(kv.first, file);
            }
            return o;
        }
        default: return nullptr;
    }
}

}  // namespace berth::builder
