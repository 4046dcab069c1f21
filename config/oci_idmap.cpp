// Idmapped mounts (spec 1.2): a mount's uidMappings/gidMappings and the
// "idmap"/"ridmap" options, including crun's `idmap=uids=...;gids=...` form.
// Everything is resolved here into Mount::uid_mappings/gid_mappings, so the
// runtime only writes them to a user namespace.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "config/json_reader.hpp"
#include "config/oci_spec.hpp"

namespace berth::oci::detail {
namespace {

bool is_bind(const Mount& m) {
    if (m.type == "bind") return true;
    return std::any_of(m.options.begin(), m.options.end(),
                       [](const std::string& o) { return o == "bind" || o == "rbind"; });
}

// A relative ("@") mapping names a container id: shifted to the host id the
// container's own user namespace maps it to, as crun does.
bool shift_relative(std::uint32_t& host, const std::vector<IdMapping>& container, std::string& why) {
    for (const auto& m : container)
        if (host >= m.container_id && host - m.container_id < m.size) {
            host = host - m.container_id + m.host_id;
            return true;
        }
    why = fmt::format("id {} is not mapped by the container's user namespace", host);
    return false;
}

// "0-1-10#@10-11-10": triplets of file-system id, host id, size.
bool parse_triplets(const std::string& text, const std::vector<IdMapping>& container, std::vector<IdMapping>& out,
                    std::string& why) {
    size_t at = 0;
    while (at <= text.size()) {
        size_t end = std::min(text.find('#', at), text.size());
        std::string item = text.substr(at, end - at);
        bool relative = !item.empty() && item[0] == '@';
        if (relative) item.erase(0, 1);
        std::uint32_t v[3];
        size_t pos = 0;
        for (int i = 0; i < 3; ++i) {
            if (i > 0) {
                if (pos >= item.size() || item[pos] != '-') {
                    why = fmt::format("expected FSID-HOSTID-SIZE, got \"{}\"", item);
                    return false;
                }
                ++pos;
            }
            size_t start = pos;
            unsigned long n = 0;
            while (pos < item.size() && item[pos] >= '0' && item[pos] <= '9' && n <= 0xffffffffUL)
                n = n * 10 + unsigned(item[pos++] - '0');
            if (pos == start || n > 0xffffffffUL) {
                why = fmt::format("expected FSID-HOSTID-SIZE, got \"{}\"", item);
                return false;
            }
            v[i] = std::uint32_t(n);
        }
        if (pos != item.size()) {
            why = fmt::format("expected FSID-HOSTID-SIZE, got \"{}\"", item);
            return false;
        }
        if (relative) {
            if (container.empty()) {
                why = "a relative (@) mapping needs linux.uidMappings/gidMappings";
                return false;
            }
            if (!shift_relative(v[1], container, why)) return false;
        }
        out.push_back({v[0], v[1], v[2]});
        at = end + 1;
    }
    return true;
}

// crun's `idmap=uids=...;gids=...`; false after recording a problem.
bool parse_custom_idmap(Reader& r, const std::string& path, const std::string& value, const Linux& l, Mount& m) {
    size_t at = 0;
    while (at <= value.size()) {
        size_t end = std::min(value.find(';', at), value.size());
        std::string part = value.substr(at, end - at);
        std::string why;
        bool uids = part.rfind("uids=", 0) == 0;
        if (!uids && part.rfind("gids=", 0) != 0) {
            r.problem(path, fmt::format("expected uids=... or gids=..., got \"{}\"", part));
            return false;
        }
        auto& dst = uids ? m.uid_mappings : m.gid_mappings;
        if (!parse_triplets(part.substr(5), uids ? l.uid_mappings : l.gid_mappings, dst, why)) {
            r.problem(path, fmt::format("\"{}\": {}", part, why));
            return false;
        }
        at = end + 1;
    }
    return true;
}

void check_sizes(Reader& r, const std::string& path, const std::vector<IdMapping>& maps) {
    for (size_t i = 0; i < maps.size(); ++i)
        if (maps[i].size == 0) r.problem(member_path(index_path(path, i), "size"), "must not be 0");
}

void resolve_one(Reader& r, const std::string& path, const Linux& l, Mount& m) {
    const bool own_maps = !m.uid_mappings.empty() || !m.gid_mappings.empty();
    bool custom = false;
    std::string option_path;
    for (size_t i = 0; i < m.options.size(); ++i) {
        const std::string& o = m.options[i];
        bool rec = o.rfind("ridmap", 0) == 0;
        if (!rec && o.rfind("idmap", 0) != 0) continue;
        std::string rest = o.substr(rec ? 6 : 5);
        if (!rest.empty() && rest[0] != '=') continue;  // some other option
        option_path = index_path(member_path(path, "options"), i);
        m.idmap = rec ? IdmapMode::recursive : IdmapMode::single;
        if (rest.empty()) continue;
        if (own_maps) {
            r.problem(option_path, "a mapping in the option and uidMappings/gidMappings on the mount: give one");
            return;
        }
        custom = true;
        if (!parse_custom_idmap(r, option_path, rest.substr(1), l, m)) return;
    }
    if (!own_maps && m.idmap == IdmapMode::none) return;
    if (own_maps && m.idmap == IdmapMode::none) m.idmap = IdmapMode::single;  // the spec's SHOULD, not a MUST
    if (!is_bind(m)) {
        r.problem(path, fmt::format("idmapped mounts are supported on bind mounts only (type \"{}\")", m.type));
        return;
    }
    if (own_maps) {
        if (m.uid_mappings.empty() || m.gid_mappings.empty())
            r.problem(member_path(path, m.uid_mappings.empty() ? "uidMappings" : "gidMappings"),
                      "required: uidMappings and gidMappings are given together");
        check_sizes(r, member_path(path, "uidMappings"), m.uid_mappings);
        check_sizes(r, member_path(path, "gidMappings"), m.gid_mappings);
    } else if (custom) {
        if (m.uid_mappings.empty() || m.gid_mappings.empty())
            r.problem(option_path, "needs both uids=... and gids=...");
    } else {
        // A bare idmap: the container's own user namespace mappings.
        if (!l.find_namespace(NamespaceType::user) || l.uid_mappings.empty() || l.gid_mappings.empty()) {
            r.problem(option_path,
                      "without uidMappings/gidMappings on the mount it needs the container's user namespace "
                      "mappings (linux.uidMappings and linux.gidMappings)");
            return;
        }
        m.uid_mappings = l.uid_mappings;
        m.gid_mappings = l.gid_mappings;
    }
}

}  // namespace

void resolve_mount_idmaps(Reader& r, Spec& spec) {
    for (size_t i = 0; i < spec.mounts.size(); ++i)
        resolve_one(r, index_path("mounts", i), spec.linux_, spec.mounts[i]);
}

}  // namespace berth::oci::detail
