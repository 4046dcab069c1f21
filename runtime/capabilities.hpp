// Capabilities, applied in crun's order around the uid/gid switch:
//   drop_bounding -> keep_caps(true) -> switch ids -> apply_caps -> ambient.
#pragma once
#include <string>
#include <vector>

#include "config/oci_spec.hpp"

namespace berth::runtime {

// Highest capability the running kernel knows (probed with PR_CAPBSET_READ).
int kernel_last_cap();

// Drops from the bounding set every capability not in keep.
void drop_bounding(const std::vector<int>& keep);

// PR_SET_KEEPCAPS: keep the permitted set across setuid away from 0.
void keep_caps(bool on);

// Sets effective/permitted/inheritable (capset) then the ambient set.
// Capabilities unknown to the running kernel are ignored, as crun does.
void apply_caps(const oci::Capabilities& caps);

// The ambient capabilities the kernel will not raise: each must be in the
// permitted and the inheritable set as well (`runc spec`'s default asks for
// three that are not). Skipped silently at the raise, as runc and crun do.
std::vector<int> ambient_not_raisable(const oci::Capabilities& caps);
std::string cap_label(int cap);

void set_no_new_privs();

}  // namespace berth::runtime
