#include "runtime/user.hpp"

#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t i = 0;
    for (;;) {
        size_t j = s.find(sep, i);
        out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
        if (j == std::string_view::npos) return out;
        i = j + 1;
    }
}

template <class F>
void for_each_line(std::string_view text, F f) {
    for (auto line : split(text, '\n')) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line[0] == '#') continue;
        f(line);
    }
}

bool parse_id(std::string_view s, unsigned& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
    std::vector<PasswdEntry> out;
    for_each_line(text, [&](std::string_view line) {
        auto f = split(line, ':');  // name:pw:uid:gid:gecos:home:shell
        unsigned uid, gid;
        if (f.size() < 7 || f[0].empty() || !parse_id(f[2], uid) || !parse_id(f[3], gid)) return;
        out.push_back({std::string(f[0]), uid_t(uid), gid_t(gid), std::string(f[5]), std::string(f[6])});
    });
    return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
    std::vector<GroupEntry> out;
    for_each_line(text, [&](std::string_view line) {
        auto f = split(line, ':');  // name:pw:gid:member,member
        unsigned gid;
        if (f.size() < 4 || f[0].empty() || !parse_id(f[2], gid)) return;
        GroupEntry g{std::string(f[0]), gid_t(gid), {}};
        if (!f[3].empty())
            for (auto m : split(f[3], ','))
                if (!m.empty()) g.members.emplace_back(m);
        out.push_back(std::move(g));
    });
    return out;
}

Identity resolve_identity(const oci::User& user, std::optional<std::string_view> passwd,
                          std::optional<std::string_view> group) {
    Identity id;
    id.uid = user.uid;
    id.gid = user.gid;
    auto users = passwd ? parse_passwd(*passwd) : std::vector<PasswdEntry>{};
    const PasswdEntry* entry = nullptr;
    if (!user.username.empty()) {
        for (const auto& u : users)
            if (u.name == user.username) entry = &u;
        if (!entry)
            throw Error(fmt::format("unknown user `{}` (not in the container's /etc/passwd)", user.username),
                        ENOENT);
        id.uid = entry->uid;
        id.gid = entry->gid;
        // Like initgroups(3), but from the container's /etc/group.
        if (group)
            for (const auto& g : parse_group(*group))
                if (std::find(g.members.begin(), g.members.end(), user.username) != g.members.end())
                    id.groups.push_back(g.gid);
    } else {
        for (const auto& u : users)
            if (u.uid == id.uid && !entry) entry = &u;
    }
    for (gid_t g : user.additional_gids)
        if (std::find(id.groups.begin(), id.groups.end(), g) == id.groups.end()) id.groups.push_back(g);
    id.home = entry && !entry->home.empty() ? entry->home : "/";
    return id;
}

Identity resolve_identity_in_container(const oci::User& user) {
    auto passwd = fs::try_read_file("/etc/passwd");
    auto group = fs::try_read_file("/etc/group");
    auto view = [](const std::optional<std::string>& s) {
        return s ? std::optional<std::string_view>(*s) : std::nullopt;
    };
    return resolve_identity(user, view(passwd), view(group));
}

void switch_identity(const Identity& id) {
    if (::setgroups(id.groups.size(), id.groups.data()) < 0)
        throw_errno(fmt::format("setgroups({} groups)", id.groups.size()));
    if (::setresgid(id.gid, id.gid, id.gid) < 0) throw_errno(fmt::format("setresgid({})", id.gid));
    if (::setresuid(id.uid, id.uid, id.uid) < 0) throw_errno(fmt::format("setresuid({})", id.uid));
}

}  // namespace berth::runtime
