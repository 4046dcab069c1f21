// update: change a container's cgroup limits (runc update), from a
// linux.resources JSON file (--resources FILE, `-` for stdin) and/or runc's
// flags (--memory 64m, --pids-limit 50, --cpu-quota ...). Only the fields given
// are written; the others keep their values.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "config/byte_size.hpp"
#include "config/oci_spec.hpp"
#include "runtime-cli/args.hpp"
#include "runtime-cli/commands.hpp"
#include "runtime-cli/container_ops.hpp"
#include "runtime/cgroup.hpp"

namespace berth::runc {
namespace {

using json = nlohmann::json;

enum class Kind { bytes, integer, text };

struct Flag {
    const char* name;
    Kind kind;
    const char* group;  // linux.resources member
    const char* field;
};

// runc's update flags and the linux.resources fields they set.
const Flag kFlags[] = {
    {"memory", Kind::bytes, "memory", "limit"},
    {"memory-reservation", Kind::bytes, "memory", "reservation"},
    {"memory-swap", Kind::bytes, "memory", "swap"},
    {"cpu-period", Kind::integer, "cpu", "period"},
    {"cpu-quota", Kind::integer, "cpu", "quota"},
    {"cpu-share", Kind::integer, "cpu", "shares"},
    {"cpu-rt-period", Kind::integer, "cpu", "realtimePeriod"},
    {"cpu-rt-runtime", Kind::integer, "cpu", "realtimeRuntime"},
    {"cpuset-cpus", Kind::text, "cpu", "cpus"},
    {"cpuset-mems", Kind::text, "cpu", "mems"},
    {"blkio-weight", Kind::integer, "blockIO", "weight"},
    {"pids-limit", Kind::integer, "pids", "limit"},
};

std::vector<OptionSpec> update_options() {
    std::vector<OptionSpec> o = {{"resources", 'r', true},        {"kernel-memory", 0, true},
                                 {"kernel-memory-tcp", 0, true},  {"l3-cache-schema", 0, true},
                                 {"mem-bw-schema", 0, true}};
    for (const auto& f : kFlags) o.push_back({f.name, 0, true});
    return o;
}

std::int64_t parse_integer(const std::string& flag, const std::string& v) {
    std::size_t used = 0;
    long long n = 0;
    try {
        n = std::stoll(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (v.empty() || used != v.size()) throw UsageError(fmt::format("--{} `{}`: not a number", flag, v));
    return n;
}

}  // namespace

std::int64_t parse_byte_size(const std::string& text) {
    // As runc reads it (docker's RAMInBytes): -1 = no limit, else a size in
    // config/'s grammar (powers of 1024, "64m", "1.5g").
    if (text == "-1") return -1;
    std::uint64_t n = config::parse_byte_size(text);
    if (n > std::uint64_t(INT64_MAX)) throw Error(fmt::format("`{}`: too large", text), EINVAL);
    return std::int64_t(n);
}

int cmd_update(const Context& c) {
    Args a = parse_args(c.argv, c.first, update_options(), false, "update");
    const std::string id = container_id_argument(a, "update");
    for (const char* f : {"l3-cache-schema", "mem-bw-schema"})
        if (a.has(f)) throw Error(fmt::format("update --{}: intelRdt is not supported by berth-runc", f), ENOTSUP);
    for (const char* f : {"kernel-memory", "kernel-memory-tcp"})
        if (a.has(f)) std::fprintf(stderr, "berth-runc: update --%s ignored: kernel memory limits are not supported by the kernel any more\n", f);

    json r = json::object();
    if (a.has("resources")) {
        const std::string file = a.get("resources");
        std::string text = file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : fs::read_file(file);
        try {
            r = json::parse(text);
        } catch (const json::parse_error& e) {
            throw Error(fmt::format("update --resources `{}`: invalid JSON: {}", file, e.what()), EINVAL);
        }
        if (!r.is_object()) throw Error(fmt::format("update --resources `{}`: not a JSON object", file), EINVAL);
    }
    for (const auto& f : kFlags) {
        if (!a.has(f.name)) continue;
        const std::string v = a.get(f.name);
        if (f.kind == Kind::text) r[f.group][f.field] = v;
        else if (f.kind == Kind::bytes) {
            try {
                r[f.group][f.field] = parse_byte_size(v);
            } catch (const Error& e) {
                throw UsageError(fmt::format("--{}: {}", f.name, e.what()));
            }
        }
        else r[f.group][f.field] = parse_integer(f.name, v);
    }
    if (r.empty()) throw UsageError("update: nothing to change (give --resources FILE or a limit flag)");

    fs::Fd lock = c.store.lock(id);
    State st = c.store.load(id);
    Status s = c.store.status(st);
    if (s != Status::created && s != Status::running && s != Status::paused)
        throw Error(fmt::format("cannot update container `{}`: it is {}", id, status_name(s)), EINVAL);
    auto cgroup = cgroup_of(st);
    if (!cgroup) throw Error(fmt::format("container `{}` has no cgroup", id), ENOTSUP);

    // Validated by the spec's own parser: the saved spec with these resources.
    const std::string saved = c.store.spec_copy(id);
    json doc = json::parse(fs::read_file(saved));
    json changed = doc;
    changed["linux"]["resources"] = r;
    oci::Spec spec = oci::parse_spec(changed, "update");
    cgroup->prepare(spec.linux_, &*spec.linux_.resources);
    // The saved spec follows, so later commands see the limits in force.
    doc.merge_patch(json{{"linux", {{"resources", r}}}});
    fs::write_file(saved + ".tmp", doc.dump(), 0600);
    if (::rename((saved + ".tmp").c_str(), saved.c_str()) < 0) throw_errno(fmt::format("save `{}`", saved));
    return 0;
}

}  // namespace berth::runc
