// PID 1's log of this boot, kept across reboots (docs/updates.md, "Logs of a
// failed boot"), so that after a rollback `berth logs --previous-boot` shows
// why the new slot failed.
//
// Where: A/B disks carry a raw 1 MiB partition named berth-boot-log. Not the
// data partition: that one belongs to the services (blank, any file system,
// written raw by some), and PID 1 cannot share it without a file system of its
// own. Not pstore: its RAM backend loses everything on a power cycle (or a
// restarted VM) and needs reserved memory, and the EFI backend only records
// kernel crashes, in scarce NVRAM.
//
// Layout: two 512 KiB areas; each is a 4 KiB text header ("berth-boot-log 1",
// gen=, boot=, bytes=) then the log's text. A boot writes the area that holds
// its own boot id, or else overwrites the older one (lower gen) with gen one
// above the newer: the previous boot's log is never the one being written,
// and a write cut by a reset (text first, header last, each synced) at worst
// leaves this boot's area unreadable.
//
// How: every line PID 1 logs is also kept in memory (the last 256 KiB). A
// child process writes that copy to the partition (PID 1 never waits on the
// disk): every 5 s when there are new lines, and once more at shutdown, which
// waits for it at most 2 s.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "init/sys_ops.hpp"
#include "supervisor/event_loop.hpp"

namespace berth::init {

inline constexpr std::uint64_t kBootLogAreaBytes = 512 * 1024;
inline constexpr std::uint64_t kBootLogHeaderBytes = 4096;
inline constexpr std::size_t kBootLogKeepBytes = 256 * 1024;

// The lines PID 1 logged this boot, the oldest dropped beyond kBootLogKeepBytes.
class BootLogRing {
public:
    void add(std::string_view line);
    const std::string& text() const { return text_; }
    std::uint64_t added() const { return added_; }  // lines so far

private:
    std::string text_;
    std::uint64_t added_ = 0;
};
BootLogRing& boot_log_ring();
// Installs boot_log_ring() as the log's tee (common/log.hpp).
void keep_boot_log();

struct BootLogArea {
    std::uint64_t gen = 0;
    std::string boot_id, text;
};

// Writes `text` (its last part when longer than an area holds) as the log of
// boot `boot_id` on the device or file `dev`: "" or why not (with errno text).
std::string write_boot_log(const std::string& dev, const std::string& boot_id, std::string_view text);
// The newest log on `dev` of a boot other than `boot_id`; nullopt with *error
// set when it cannot be read, with *error empty when there is none.
std::optional<BootLogArea> read_previous_boot_log(const std::string& dev, const std::string& boot_id,
                                                  std::string* error);
// /proc/sys/kernel/random/boot_id without its newline, or "".
std::string current_boot_id(SysOps& sys);

// PID 1's side: child processes that write boot_log_ring() to the partition.
class BootLogWriter {
public:
    using Spawn = std::function<pid_t(std::function<int()> work)>;
    static constexpr supervisor::Millis kWriteEveryMs = 5000;
    static constexpr int kNoPartition = 3;  // a child's status: the disk has no log partition

    BootLogWriter(supervisor::EventLoop& loop, SysOps& sys, std::string boot_id, Spawn spawn = {});
    void start();                 // writes now, then every kWriteEveryMs when there are new lines
    void write_now();             // no-op while a write runs (the next one takes the new lines)
    bool child_exited(pid_t pid, int code, int status);  // true when `pid` was ours
    // At shutdown, after the loop: one last write, waited for at most timeout_ms.
    void final_write(int timeout_ms);
    bool disabled() const { return disabled_; }

private:
    void every_interval();
    supervisor::EventLoop& loop_;
    SysOps& sys_;
    std::string boot_id_;
    Spawn spawn_;
    pid_t child_ = -1;
    std::uint64_t written_ = 0, writing_ = 0;
    bool disabled_ = false;
};

}  // namespace berth::init
