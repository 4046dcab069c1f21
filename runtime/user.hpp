// The container user. Names are resolved only from the container's own
// /etc/passwd and /etc/group: a static PID 1 has no NSS, and the host's
// databases say nothing about the container's users anyway.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

struct PasswdEntry {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
    std::string shell;
};

struct GroupEntry {
    std::string name;
    gid_t gid = 0;
    std::vector<std::string> members;
};

// Malformed lines and comments are skipped, as libc does.
std::vector<PasswdEntry> parse_passwd(std::string_view text);
std::vector<GroupEntry> parse_group(std::string_view text);

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary
    std::string home;           // for $HOME, "/" when unknown
};

// Numeric uid/gid are used as given. A username is looked up in passwd (throws
// Error "unknown user" when absent) and adds its groups from the group file.
Identity resolve_identity(const oci::User& user, std::optional<std::string_view> passwd,
                          std::optional<std::string_view> group);

// Reads /etc/passwd and /etc/group of the current root and resolves.
Identity resolve_identity_in_container(const oci::User& user);

// setgroups, setresgid, setresuid.
void switch_identity(const Identity& id);

}  // namespace berth::runtime
