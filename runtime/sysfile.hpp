// Writes to kernel interface files (procfs, cgroupfs) that need the whole
// value in one write(2) and report errors through errno.
#pragma once
#include <string>
#include <string_view>

namespace berth::runtime {

// open(O_WRONLY) + a single write; throws Error("write `path`: <reason>").
void write_kernel_file(const std::string& path, std::string_view data);

}  // namespace berth::runtime
