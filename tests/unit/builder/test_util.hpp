// Helpers shared by the builder unit tests.
#pragma once
#include <string>
#include <vector>

#include "../temp_dir.hpp"

namespace berth::test {

// Writes a minimal little-endian ELF64 relocatable file whose only payload is a
// .modinfo section holding `modinfo` (each string NUL terminated), like a .ko.
void write_fake_module(const std::string& path, const std::vector<std::string>& modinfo);

}  // namespace berth::test
