// Translation of OCI mount "options" into mount(2) flags, propagation flags and
// the filesystem data string, following the table used by runc and crun.
#pragma once
#include <string>
#include <vector>

namespace berth::runtime {

struct MountOptions {
    unsigned long flags = 0;        // MS_* passed to mount(2) (MS_BIND/MS_REC included)
    unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [| MS_REC]
    bool atime_set = false;         // an *atime option was given explicitly
    std::string data;               // unknown options, comma separated ("mode=755,size=1m")
    bool is_bind() const;
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// "rprivate" -> MS_REC|MS_PRIVATE; "" -> MS_REC|MS_PRIVATE; 0 when unknown.
unsigned long propagation_flags(const std::string& name);

// Every option name parse_mount_options() understands (for `features`).
std::vector<std::string> known_mount_options();

}  // namespace berth::runtime
