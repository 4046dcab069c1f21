// spec: writes a config.json to start from in the bundle directory, as `runc
// spec` does (`berth-runc spec && berth-runc run ID` with a ./rootfs).
#include <fcntl.h>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "config/oci_defaults.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"

namespace berth::runc {

int cmd_spec(const Context& c) {
    Args a = parse_args(c.argv, c.first, {{"bundle", 'b', true}, {"rootless", 0, false}}, false, "spec");
    no_arguments(a, "spec");
    if (a.has("rootless")) throw Error("spec --rootless: berth-runc runs containers as root only", ENOTSUP);
    const std::string path = fs::join(a.get("bundle", "."), "config.json");
    // Never over a config.json someone wrote (runc refuses too).
    fs::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) {
        if (errno == EEXIST) throw Error(fmt::format("`{}` exists: remove it first", path), EEXIST);
        throw_errno(fmt::format("create `{}`", path));
    }
    fs::write_all(fd.get(), oci::example_spec().dump(2) + "\n", path);
    return 0;
}

}  // namespace berth::runc
