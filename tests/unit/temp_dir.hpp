// TempDir: a fresh directory under $TMPDIR (else /tmp) for one test, removed
// with everything in it when the test ends, pass or fail. The one helper of
// its kind for every unit test program.
#pragma once
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "common/error.hpp"

namespace berth::test {

class TempDir {
public:
    TempDir() {
        const char* t = std::getenv("TMPDIR");
        std::string tmpl = std::string(t && *t ? t : "/tmp") + "/berth-test-XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw_errno("mkdtemp `" + tmpl + "`");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;  // a destructor reports nothing; the name is unique anyway
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

private:
    std::string path_;
};

}  // namespace berth::test
