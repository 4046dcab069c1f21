// Helpers shared by the builder unit tests.
#pragma once
#include <string>
#include <vector>

namespace berth::test {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

private:
    std::string path_;
};

// Writes a minimal little-endian ELF64 relocatable file whose only payload is a
// .modinfo section holding `modinfo` (each string NUL terminated), like a .ko.
void write_fake_module(const std::string& path, const std::vector<std::string>& modinfo);

}  // namespace berth::test
