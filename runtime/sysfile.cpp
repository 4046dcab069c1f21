#include "runtime/sysfile.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime {

void write_kernel_file(const std::string& path, std::string_view data) {
    fs::Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno("open `" + path + "`");
    ssize_t n;
    do {
        n = ::write(fd.get(), data.data(), data.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("write `" + path + "`");
    if (size_t(n) != data.size()) throw Error("write `" + path + "`: short write", EIO);
}

}  // namespace berth::runtime
