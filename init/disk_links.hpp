// /dev/disk/by-uuid, by-label, by-partuuid and by-id: the links programs and
// fstab-like configs expect, as udev names them, kept by PID 1 from its own probe
// of each block device (disk_probe.hpp) and sysfs. Written at boot for the
// devices present and kept current on add/change/remove events.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "init/sys_ops.hpp"

namespace berth::init {

class DiskLinks {
public:
    explicit DiskLinks(SysOps& sys, std::string dev = "/dev", std::string sys_block = "/sys/class/block")
        : sys_(sys), dev_(std::move(dev)), sys_block_(std::move(sys_block)) {}

    // Every block device present now.
    void scan();
    // `name` is the kernel's name ("vda1"), as in a uevent's DEVNAME.
    void added(const std::string& name);
    void removed(const std::string& name);
    void changed(const std::string& name) {  // a new file system on it: probe again
        removed(name);
        added(name);
    }
    // The links this device has, as "by-uuid/1234-ABCD" (tests, logs).
    std::vector<std::string> links_of(const std::string& name) const;

private:
    std::vector<std::string> wanted_links(const std::string& name);
    // "virtio-SERIAL", "nvme-MODEL_SERIAL", "ata-MODEL_SERIAL", "usb-VENDOR_MODEL_SERIAL-0:0" or "".
    std::string disk_id(const std::string& disk);
    std::string usb_id(const std::string& disk);  // "VENDOR_MODEL_SERIAL-0:0" or ""
    std::vector<std::string> wwn_ids(const std::string& disk);  // "wwn-0x5000c500...", "nvme-eui.00253..."

    SysOps& sys_;
    std::string dev_, sys_block_;
    std::map<std::string, std::string> owner_;  // "by-uuid/X" -> device name
};

// udev's ata_id name of a SATA disk, "MODEL_SERIAL" (or "MODEL" without a serial),
// from the ATA Information VPD page (0x89) the kernel caches in sysfs (`vpd_pg89`):
// it holds the disk's IDENTIFY data. "" when the page is short or not that page.
std::string ata_id_from_vpd89(const std::string& page);

// Names PID 1 never probes: memory and loop devices with nothing behind them.
bool skip_block_device(const std::string& name);

}  // namespace berth::init
