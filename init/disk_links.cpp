#include "init/disk_links.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "init/disk_probe.hpp"

namespace berth::init {

bool skip_block_device(const std::string& name) {
    return name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
           name.rfind("ram", 0) == 0 || name.rfind("zram", 0) == 0;
}

void DiskLinks::scan() {
    for (const auto& name : sys_.list_dir(sys_block_).value_or(std::vector<std::string>{})) added(name);
}

std::string DiskLinks::disk_id(const std::string& disk) {
    std::string base = sys_block_ + "/" + disk;
    if (auto serial = sys_.read_file(base + "/serial")) {  // virtio_blk's own attribute
        std::string s = udev_id_part(fs::trim(*serial));
        if (!s.empty()) return "virtio-" + s;
    }
    auto model = sys_.read_file(base + "/device/model");
    auto serial = sys_.read_file(base + "/device/serial");
    if (disk.rfind("nvme", 0) == 0 && model && serial) {
        std::string m = udev_id_part(fs::trim(*model)), s = udev_id_part(fs::trim(*serial));
        if (!m.empty() && !s.empty()) return "nvme-" + m + "_" + s;
    }
    return "";
}

std::vector<std::string> DiskLinks::wwn_ids(const std::string& disk) {
    // The world-wide name the device reports (its VPD page 0x83, or NVMe's EUI/NGUID).
    std::vector<std::string> out;
    bool nvme = disk.rfind("nvme", 0) == 0;
    auto wwid = sys_.read_file(sys_block_ + "/" + disk + (nvme ? "/wwid" : "/device/wwid"));
    if (!wwid) return out;
    std::string w = udev_id_part(fs::trim(*wwid));
    if (w.empty()) return out;
    if (nvme) out.push_back("nvme-" + w);                                        // nvme-eui.0025388b...
    else if (w.rfind("naa.", 0) == 0 && w.size() > 4) out.push_back("wwn-0x" + w.substr(4));  // wwn-0x5000c500...
    return out;
}

std::vector<std::string> DiskLinks::wanted_links(const std::string& name) {
    std::vector<std::string> links;
    std::string base = sys_block_ + "/" + name;
    if (fs::trim(sys_.read_file(base + "/size").value_or("0")) == "0") return links;  // no medium, empty loop
    auto head = sys_.read_head(dev_ + "/" + name, kDiskProbeBytes);
    if (!head) return links;
    if (auto fs = probe_filesystem(*head)) {
        if (!fs->uuid.empty()) links.push_back("by-uuid/" + udev_encode(fs->uuid));
        if (!fs->label.empty()) links.push_back("by-label/" + udev_encode(fs->label));
    }
    std::string partition = fs::trim(sys_.read_file(base + "/partition").value_or(""));
    if (partition.empty()) {
        if (std::string id = disk_id(name); !id.empty()) links.push_back("by-id/" + id);
        for (const auto& w : wwn_ids(name)) links.push_back("by-id/" + w);
        return links;
    }
    // A partition: its disk is the block device whose sysfs directory holds it.
    long number = std::strtol(partition.c_str(), nullptr, 10);
    for (const auto& disk : sys_.list_dir(sys_block_).value_or(std::vector<std::string>{})) {
        if (disk == name || !sys_.exists(sys_block_ + "/" + disk + "/" + name)) continue;
        if (auto disk_head = sys_.read_head(dev_ + "/" + disk, kDiskProbeBytes)) {
            auto uuids = gpt_partition_uuids(*disk_head);
            if (number >= 1 && std::size_t(number) <= uuids.size() && !uuids[std::size_t(number - 1)].empty())
                links.push_back("by-partuuid/" + uuids[std::size_t(number - 1)]);
        }
        if (std::string id = disk_id(disk); !id.empty()) links.push_back("by-id/" + id + "-part" + partition);
        for (const auto& w : wwn_ids(disk)) links.push_back("by-id/" + w + "-part" + partition);
        break;
    }
    return links;
}

void DiskLinks::added(const std::string& name) {
    if (skip_block_device(name)) return;
    auto links = wanted_links(name);
    std::sort(links.begin(), links.end());
    // The add event of a device the boot scan already linked: nothing to do.
    if (links == links_of(name)) return;
    removed(name);  // an add without a remove in between: no stale link stays
    if (links.empty()) return;
    sys_.mkdir(dev_ + "/disk", 0755);
    for (const auto& link : links) {
        std::string dir = link.substr(0, link.find('/'));
        sys_.mkdir(dev_ + "/disk/" + dir, 0755);
        std::string path = dev_ + "/disk/" + link;
        sys_.unlink(path);  // the newest device with a name wins, as with udev's equal priorities
        if (int rc = sys_.symlink("../../" + name, path); rc < 0) {
            log::warn("link {} -> {}: {}", path, name, std::strerror(-rc));
            continue;
        }
        owner_[link] = name;
    }
    log::info("disk {}: {} links in {}/disk", name, links.size(), dev_);
}

void DiskLinks::removed(const std::string& name) {
    for (auto it = owner_.begin(); it != owner_.end();) {
        if (it->second != name) {
            ++it;
            continue;
        }
        sys_.unlink(dev_ + "/disk/" + it->first);
        it = owner_.erase(it);
    }
}

std::vector<std::string> DiskLinks::links_of(const std::string& name) const {
    std::vector<std::string> out;
    for (const auto& [link, owner] : owner_)
        if (owner == name) out.push_back(link);
    return out;
}

}  // namespace berth::init
