// `berth update status|apply FILE|rollback` inside an A/B image (docs/updates.md).
//
// The CLI does the work itself, as an ordinary process: it reads and checks the
// bundle, writes the inactive slot and its boot entry (the slot's unified kernel
// image under systemd-boot's counting name), then asks PID 1 over the
// control socket to reboot. PID 1 never waits on a write of hundreds of MiB,
// and a CLI killed half way leaves the inactive slot without a boot entry,
// which the loader never boots.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "config/image_config.hpp"
#include "config/update_bundle.hpp"
#include "ctl/ctl.hpp"
#include "ctl/ctl_client.hpp"
#include "init/ab_slots.hpp"
#include "init/boot_files.hpp"
#include "init/sys_ops.hpp"

namespace berth::ctl {

namespace {

constexpr std::size_t kChunk = 1 << 20;
const char* const kUpdateEspDir = "/run/berth/esp-update";

int fail(const std::string& msg) {
    std::fprintf(stderr, "berth update: %s\n", msg.c_str());
    return 1;
}

std::uint64_t size_of(int fd) {
    struct stat st;
    if (::fstat(fd, &st) < 0) throw_errno("fstat");
    if (S_ISBLK(st.st_mode)) {
        std::uint64_t n = 0;
        if (::ioctl(fd, BLKGETSIZE64, &n) < 0) throw_errno("BLKGETSIZE64");
        return n;
    }
    return std::uint64_t(st.st_size);
}

void pread_all(int fd, char* buf, std::size_t n, std::uint64_t off) {
    std::size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(fd, buf + done, n - done, off_t(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw_errno("read");
        if (r == 0) throw Error("unexpected end of file", EIO);
        done += std::size_t(r);
    }
}

void pwrite_all(int fd, const char* buf, std::size_t n, std::uint64_t off) {
    std::size_t done = 0;
    while (done < n) {
        ssize_t r = ::pwrite(fd, buf + done, n - done, off_t(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw_errno("write");
        done += std::size_t(r);
    }
}

// sha256 of [off, off+n) of fd, read in chunks (the slot may be larger than RAM).
std::string sha256_range(int fd, std::uint64_t off, std::uint64_t n) {
    sha256_ctx ctx;
    sha256_init(&ctx);
    std::vector<char> buf(kChunk);
    for (std::uint64_t done = 0; done < n;) {
        std::size_t k = std::size_t(std::min<std::uint64_t>(kChunk, n - done));
        pread_all(fd, buf.data(), k, off + done);
        sha256_update(&ctx, k, reinterpret_cast<const std::uint8_t*>(buf.data()));
        done += k;
    }
    std::string d(SHA256_DIGEST_SIZE, '\0');
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, reinterpret_cast<std::uint8_t*>(d.data()));
    return update::to_hex(d);
}

std::string read_range(int fd, std::uint64_t off, std::uint64_t n) {
    std::string s(n, '\0');
    pread_all(fd, s.data(), n, off);
    return s;
}

// A file on the ESP, written under a temporary name, synced, then renamed.
void write_esp_file(const std::string& path, const std::string& data) {
    std::string tmp = path + ".tmp";
    fs::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw_errno("create " + tmp);
    pwrite_all(fd.get(), data.data(), data.size(), 0);
    if (::fsync(fd.get()) < 0) throw_errno("fsync " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("rename " + tmp);
}

void sync_dir(const std::string& dir) {
    fs::Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) ::fsync(fd.get());
}

struct Machine {
    config::UpdateConfig cfg;
    char slot = 'a';
};

std::string load_machine(init::SysOps& sys, Machine& m) {
    auto text = sys.read_file(config::kImageConfigPath);
    std::optional<config::UpdateConfig> cfg;
    try {
        if (text) cfg = config::parse_image_config_text(*text, config::kImageConfigPath).update;
    } catch (const std::exception& e) {
        return e.what();
    }
    if (!cfg) return "this image takes no updates (it was not built as raw-efi-ab)";
    auto slot = init::booted_slot(init::parse_cmdline(sys.read_file("/proc/cmdline").value_or("")));
    if (!slot) return "this boot has no berth.slot on its command line (not booted from an A/B disk)";
    m.cfg = *cfg;
    m.slot = *slot;
    return {};
}

std::string describe(const update::BootEntryName& e) {
    if (e.tries_left < 0) return "committed";
    if (e.tries_left == 0) return "no tries left (failed or rolled back)";
    return std::to_string(e.tries_left) + " tries left (on trial)";
}

int request_reboot(const std::string& socket, long long timeout_ms) {
    try {
        CtlConnection c(socket, timeout_ms);
        nlohmann::json r = c.request({{control::field::cmd, "reboot"}});
        if (!r.value(control::reply::ok, false)) return fail("reboot: " + r.value(control::reply::error, std::string("?")));
    } catch (const std::exception& e) {
        return fail(std::string("reboot: ") + e.what());
    }
    std::printf("rebooting\n");
    return 0;
}

int status(init::SysOps& sys) {
    Machine m;
    if (std::string err = load_machine(sys, m); !err.empty()) return fail(err);
    std::printf("image %s %s (%s), booted from slot %c\n", m.cfg.name.c_str(),
                m.cfg.version.empty() ? "(no version)" : m.cfg.version.c_str(), m.cfg.arch.c_str(), m.slot);
    init::EspMount esp(sys, kUpdateEspDir);
    if (!esp.ok()) return fail(esp.error());
    for (const auto& e : init::list_boot_entries(esp.dir()))
        std::printf("slot %c: %s: %s\n", e.name.slot, e.file.c_str(), describe(e.name).c_str());
    return 0;
}

int apply(init::SysOps& sys, const std::string& file, bool reboot, bool allow_downgrade, const std::string& socket,
          long long timeout_ms) {
    Machine m;
    if (std::string err = load_machine(sys, m); !err.empty()) return fail(err);
    char target = init::other_slot(m.slot);
    // The running slot must be committed: replacing the other slot while this one
    // is on trial would leave no committed slot to fall back to.
    {
        init::EspMount esp(sys, kUpdateEspDir);
        if (!esp.ok()) return fail(esp.error());
        for (const auto& e : init::list_boot_entries(esp.dir()))
            if (e.name.slot == m.slot && e.name.tries_left >= 0)
                return fail(std::string("slot ") + m.slot + " is on trial (" + e.file +
                            "): wait until it is committed, or roll back, before installing another update; "
                            "nothing written");
    }
    fs::Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return fail(file + ": " + std::strerror(errno));
    std::uint64_t file_bytes = size_of(in.get());
    // 1. Everything is checked before anything is written.
    update::BundleHead head;
    update::Manifest man;
    try {
        std::uint64_t needed = 0;
        std::string bytes = read_range(in.get(), 0, std::min<std::uint64_t>(file_bytes, update::kHeaderBytes));
        head = update::split_bundle_head(bytes, needed);
        if (needed > file_bytes) throw Error("the file is truncated (" + std::to_string(file_bytes) + " bytes)", EINVAL);
        if (head.manifest_text.empty()) head = update::split_bundle_head(read_range(in.get(), 0, needed), needed);
        man = update::parse_manifest(head.manifest_text);
    } catch (const std::exception& e) {
        return fail(file + ": refused, nothing written: " + e.what());
    }
    std::string part = init::find_partition_by_name(sys, update::slot_part_name(target));
    if (part.empty()) return fail("no partition named " + update::slot_part_name(target));
    fs::Fd out(::open(part.c_str(), O_RDWR | O_CLOEXEC));
    if (!out) return fail(part + ": " + std::strerror(errno));
    std::uint64_t capacity = std::min(size_of(out.get()), m.cfg.slot_bytes);
    std::string why = update::check_bundle(head, man, update::from_hex(m.cfg.public_key), m.cfg.name, m.cfg.arch,
                                           file_bytes, capacity);
    if (!why.empty()) return fail(file + ": refused, nothing written: " + why);
    if (std::string older = update::check_version(man.version, m.cfg.version); !older.empty()) {
        if (!allow_downgrade)
            return fail(file + ": refused, nothing written: " + older + " (--allow-downgrade installs it anyway)");
        std::printf("downgrade allowed: %s\n", older.c_str());
    }
    std::printf("bundle: %s %s (%s), signature good; checking %llu bytes\n", man.name.c_str(), man.version.c_str(),
                man.arch.c_str(), static_cast<unsigned long long>(man.slot.size + man.uki(target).size));
    std::fflush(stdout);
    // The target slot's UKI, checked in memory: what is written is what was checked.
    std::string uki;
    try {
        const update::BundlePart& u = man.uki(target);
        uki = read_range(in.get(), u.offset, u.size);
        std::string bad;
        if (digest::sha256_hex(uki) != u.sha256) bad = std::string("slot ") + target + "'s kernel image";
        else if (sha256_range(in.get(), man.slot.offset, man.slot.size) != man.slot.sha256) bad = "slot image";
        if (!bad.empty()) return fail(file + ": refused, nothing written: the " + bad + " does not match its sha256");
    } catch (const std::exception& e) {
        return fail(file + ": refused, nothing written: " + e.what());
    }

    // 2. The inactive slot loses its boot entry first: from here until the new
    // entry exists, the loader can only boot the running slot.
    init::EspMount esp(sys, kUpdateEspDir);
    if (!esp.ok()) return fail(esp.error());
    std::string entries = esp.dir() + "/" + update::kBootEntryDir;
    unsigned generation = 0;
    try {
        for (const auto& e : init::list_boot_entries(esp.dir())) {
            generation = std::max(generation, e.name.generation);
            if (e.name.slot == target && ::unlink((entries + "/" + e.file).c_str()) < 0)
                throw_errno("remove " + e.file);
        }
        sync_dir(entries);
        // 3. The slot, then read back and checked.
        std::printf("writing slot %c (%s)\n", target, part.c_str());
        std::fflush(stdout);
        std::vector<char> buf(kChunk);
        for (std::uint64_t done = 0; done < man.slot.size;) {
            std::size_t k = std::size_t(std::min<std::uint64_t>(kChunk, man.slot.size - done));
            pread_all(in.get(), buf.data(), k, man.slot.offset + done);
            pwrite_all(out.get(), buf.data(), k, done);
            done += k;
        }
        if (::fsync(out.get()) < 0) throw_errno("fsync " + part);
        if (sha256_range(out.get(), 0, man.slot.size) != man.slot.sha256)
            throw Error("slot " + std::string(1, target) + " does not read back as written", EIO);
        // 4. The entry: the slot's UKI, named with the loader's try counter. Its
        // temporary name is no entry to the loader (not *.efi).
        update::BootEntryName name{generation + 1, target, m.cfg.tries, -1};
        if (::mkdir(entries.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir " + entries);
        write_esp_file(entries + "/" + update::boot_entry_file(name), uki);
        sync_dir(entries);
        std::printf("slot %c holds %s %s; boot entry %s (%d %s before the loader falls back to slot %c)\n", target,
                    man.name.c_str(), man.version.c_str(), update::boot_entry_file(name).c_str(), m.cfg.tries,
                    m.cfg.tries == 1 ? "try" : "tries", m.slot);
    } catch (const std::exception& e) {
        return fail(std::string("install failed (slot ") + target + " has no boot entry; the machine boots slot " +
                    m.slot + "): " + e.what());
    }
    std::fflush(stdout);
    return reboot ? request_reboot(socket, timeout_ms) : 0;
}

int rollback(init::SysOps& sys, bool reboot, const std::string& socket, long long timeout_ms) {
    Machine m;
    if (std::string err = load_machine(sys, m); !err.empty()) return fail(err);
    char other = init::other_slot(m.slot);
    {
        init::EspMount esp(sys, kUpdateEspDir);
        if (!esp.ok()) return fail(esp.error());
        bool usable = false;
        for (const auto& e : init::list_boot_entries(esp.dir()))
            usable |= e.name.slot == other && e.name.tries_left != 0;
        if (!usable) return fail(std::string("slot ") + other + " has no bootable entry: nothing to roll back to");
        if (std::string err = init::exhaust_entry(esp.dir(), m.slot); !err.empty()) return fail(err);
    }
    std::printf("slot %c marked out of tries; the next boot is slot %c\n", m.slot, other);
    std::fflush(stdout);
    return reboot ? request_reboot(socket, timeout_ms) : 0;
}

}  // namespace

int update_main(const std::string& socket, long long timeout_ms, const std::vector<std::string>& args) {
    init::RealSysOps sys;
    bool reboot = true, allow_downgrade = false;
    std::vector<std::string> rest;
    const char* usage = "usage: berth update status\n       berth update apply FILE [--no-reboot] [--allow-downgrade]\n"
                        "       berth update rollback [--no-reboot]\n";
    for (const auto& a : args) {
        if (a == "--help" || a == "-h") return std::fputs(usage, stdout), 0;
        if (a == "--no-reboot") reboot = false;
        else if (a == "--allow-downgrade") allow_downgrade = true;
        else rest.push_back(a);
    }
    try {
        if (rest.size() == 1 && rest[0] == "status") return status(sys);
        if (rest.size() == 2 && rest[0] == "apply") return apply(sys, rest[1], reboot, allow_downgrade, socket, timeout_ms);
        if (rest.size() == 1 && rest[0] == "rollback") return rollback(sys, reboot, socket, timeout_ms);
    } catch (const std::exception& e) {
        return fail(e.what());
    }
    // What is wrong, then how it is used.
    std::string why;
    if (rest.empty()) why = "expected status, apply FILE or rollback";
    else if (rest[0] != "status" && rest[0] != "apply" && rest[0] != "rollback")
        why = (rest[0].size() > 1 && rest[0][0] == '-' ? "unknown option `" : "unknown subcommand `") + rest[0] + "`";
    else if (rest[0] == "apply") why = rest.size() < 2 ? "apply: expected the update bundle FILE"
                                                       : "apply: unexpected argument `" + rest[2] + "`";
    else why = rest[0] + ": unexpected argument `" + rest[1] + "`";
    std::fprintf(stderr, "berth update: %s\n%s", why.c_str(), usage);
    return 2;
}

}  // namespace berth::ctl
