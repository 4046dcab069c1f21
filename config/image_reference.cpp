#include "config/image_reference.hpp"

#include <cctype>
#include <cerrno>
#include <vector>

#include "common/error.hpp"

namespace berth::config {

namespace {

const char* kDockerHub = "docker.io";

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool word_char(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_'; }

// path-component: lower-case alphanumerics separated by one '.', one or two '_',
// or any number of '-'; it starts and ends with an alphanumeric.
bool valid_path_component(std::string_view s) {
    if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
    for (std::size_t i = 0; i < s.size();) {
        if (lower_alnum(s[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < s.size() && !lower_alnum(s[j])) ++j;
        std::string_view sep = s.substr(i, j - i);
        bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
        i = j;
    }
    return true;
}

// registry: host names made of dot-separated labels (letters, digits, '-'), or a
// bracketed IPv6 address, with an optional numeric port.
bool valid_registry(std::string_view s) {
    std::string_view host = s, port;
    if (!s.empty() && s.front() == '[') {
        std::size_t close = s.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        for (char c : s.substr(1, close - 1))
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':')) return false;
        host = {};
        std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port = rest.substr(1);
            if (port.empty()) return false;
        }
    } else if (std::size_t colon = s.find(':'); colon != std::string_view::npos) {
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
        if (port.empty()) return false;
    }
    for (char c : port)
        if (c < '0' || c > '9') return false;
    if (port.size() > 5) return false;
    if (s.front() == '[') return true;
    if (host.empty()) return false;
    std::size_t i = 0;
    while (i <= host.size()) {
        std::size_t j = host.find('.', i);
        if (j == std::string_view::npos) j = host.size();
        std::string_view label = host.substr(i, j - i);
        if (label.empty() || label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
        i = j + 1;
    }
    return true;
}

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128 || !word_char(t.front())) return false;
    for (char c : t)
        if (!(word_char(c) || c == '.' || c == '-')) return false;
    return true;
}

}  // namespace

std::string ImageReference::name() const { return registry + "/" + repository; }

std::string ImageReference::str() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (!digest.empty()) s += "@" + digest;
    return s;
}

std::string ImageReference::familiar_name() const {
    if (registry != kDockerHub) return name();
    if (repository.rfind("library/", 0) == 0 && repository.find('/', 8) == std::string::npos)
        return repository.substr(8);
    return repository;
}

std::string ImageReference::remote() const { return name() + (digest.empty() ? ":" + tag : "@" + digest); }

bool ImageReference::loopback_registry() const {
    std::string host = registry;
    if (!host.empty() && host.front() == '[') host = host.substr(0, host.find(']') + 1);
    else host = host.substr(0, host.find(':'));
    return host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

ImageReference parse_image_reference(std::string_view text) {
    std::string quoted = "image reference `" + std::string(text) + "`";
    auto bad = [&](const std::string& why) { return Error(quoted + ": " + why, EINVAL); };
    if (text.empty()) throw Error("empty image reference", EINVAL);
    if (is_image_path(text)) throw bad("is a path, not a reference");
    ImageReference r;
    std::string_view rest = text;
    if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
        std::string_view d = rest.substr(at + 1);
        rest = rest.substr(0, at);
        std::size_t colon = d.find(':');
        if (colon == std::string_view::npos) throw bad("digest `" + std::string(d) + "` is not ALGORITHM:HEX");
        if (d.substr(0, colon) != "sha256")
            throw bad("digest algorithm `" + std::string(d.substr(0, colon)) + "` is not supported (only sha256)");
        std::string_view hex = d.substr(colon + 1);
        if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string_view::npos)
            throw bad("a sha256 digest is 64 lower-case hex digits");
        r.digest = std::string(d);
    }
    // The tag follows the last ':' after the last '/' (a ':' before it is a port).
    std::size_t slash = rest.rfind('/');
    std::size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        std::string_view t = rest.substr(colon + 1);
        if (!valid_tag(t))
            throw bad("tag `" + std::string(t) + "` must be 1-128 letters, digits, _ . - and not start with . or -");
        r.tag = std::string(t);
        rest = rest.substr(0, colon);
    }
    if (rest.empty()) throw bad("has no name");
    std::vector<std::string_view> parts;
    for (std::size_t i = 0; i <= rest.size();) {
        std::size_t j = rest.find('/', i);
        if (j == std::string_view::npos) j = rest.size();
        parts.push_back(rest.substr(i, j - i));
        i = j + 1;
    }
    // The first component names a registry when it looks like a host: it has a
    // '.' or a ':' (port), or is "localhost" (docker's rule).
    std::string_view first = parts.front();
    if (parts.size() > 1 && (first.find_first_of(".:[") != std::string_view::npos || first == "localhost")) {
        if (!valid_registry(first)) throw bad("registry `" + std::string(first) + "` is not a HOST[:PORT]");
        r.registry = std::string(first);
        parts.erase(parts.begin());
    } else {
        r.registry = kDockerHub;
    }
    if (r.registry == "index.docker.io" || r.registry == "registry-1.docker.io") r.registry = kDockerHub;
    for (std::string_view p : parts) {
        if (!valid_path_component(p)) {
            bool upper = false;
            for (char c : p) upper |= (c >= 'A' && c <= 'Z');
            throw bad(p.empty() ? std::string("has an empty name component")
                                : "name component `" + std::string(p) + "` must be lower-case letters and digits" +
                                      " separated by . _ __ or -" + (upper ? " (no upper case)" : ""));
        }
        if (!r.repository.empty()) r.repository += "/";
        r.repository += std::string(p);
    }
    if (r.registry == kDockerHub && parts.size() == 1) r.repository = "library/" + r.repository;
    if (r.name().size() > 255) throw bad("the name is longer than 255 characters");
    if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
    return r;
}

bool is_image_path(std::string_view v) {
    return v.rfind("./", 0) == 0 || v.rfind("../", 0) == 0 || v.rfind("/", 0) == 0 || v == "." || v == "..";
}

}  // namespace berth::config
