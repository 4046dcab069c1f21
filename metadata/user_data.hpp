// User data handed to the machine (`berth run qemu --data`) written under the
// config directory (/run/config) as LinuxKit's metadata package lays it out:
// the data as given in `userdata`, and, when it is a JSON object, a tree of
// directories and files built from it:
//
//   {"ssh": {"entries": {"sshd_config": {"perm": "0600", "content": "..."}}}}
//     -> ssh/ (0755) and ssh/sshd_config (0600)
//
// An entry with `content` (a string) is a file (`perm` defaults to 0644); one with
// `entries` (an object) is a directory (`perm` defaults to 0755); an object with
// neither whose members are all objects is a directory of those members, the
// layout LinuxKit's earlier metadata package read ({"dir": {"file": {...}}}).
// A top-level file is allowed too ({"hostname": {"content": "vm1"}} -> hostname).
// A bad entry (unsafe name, bad perm, wrong type, a limit reached) is reported and
// skipped; every other entry is still written.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace berth::metadata {

struct Limits {
    std::size_t max_user_data = 1 << 20;  // bytes of user data accepted at all
    std::size_t max_entries = 1024;       // files and directories made from the JSON
    std::size_t max_depth = 16;           // directory levels below the config directory
};

struct ExpandReport {
    bool json = false;                 // the user data was a JSON object
    std::vector<std::string> written;  // relative paths made, in order ("ssh/", "ssh/sshd_config")
    std::vector<std::string> errors;   // one line per skipped entry, naming it and why
};

// Writes `userdata` and the JSON tree into config_dir (which must exist). Throws
// berth::Error only when `userdata` itself cannot be written or the data is over
// the size limit; entry failures go to the report.
ExpandReport write_user_data(std::string_view data, const std::string& config_dir, const Limits& limits = {});

// A name is one path component: not empty, not `.` or `..`, no `/` or NUL, at most 255 bytes.
bool safe_entry_name(std::string_view name);

}  // namespace berth::metadata
