#include "init/disk_links.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
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

namespace {

// ATA strings are 16-bit words, first character in the high byte.
std::string ata_string(const std::string& identify, std::size_t first_word, std::size_t words) {
    std::string out;
    for (std::size_t w = first_word; w < first_word + words; ++w) {
        out += identify[2 * w + 1];
        out += identify[2 * w];
    }
    return udev_id_part(out);
}

// A sysfs attribute's value without its trailing newlines.
std::string attribute(const std::optional<std::string>& value) {
    std::string s = value.value_or("");
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

}  // namespace

std::string ata_id_from_vpd89(const std::string& page) {
    // SAT: a 60-byte header (page code in byte 1), then the 512 bytes of IDENTIFY.
    constexpr std::size_t kIdentifyAt = 60, kIdentifySize = 512;
    if (page.size() < kIdentifyAt + kIdentifySize || static_cast<unsigned char>(page[1]) != 0x89) return "";
    std::string identify = page.substr(kIdentifyAt, kIdentifySize);
    std::string serial = ata_string(identify, 10, 10), model = ata_string(identify, 27, 20);
    if (model.empty()) return "";
    return serial.empty() ? model : model + "_" + serial;
}

namespace {

// "host:bus:target:lun", four decimal numbers. Parsed by hand: sscanf would
// bring glibc's scanf engine and its float parsers (about 90 KB) into PID 1.
bool parse_scsi_address(const std::string& text, unsigned (&out)[4]) {
    const char* p = text.data();
    const char* end = p + text.size();
    for (int i = 0; i < 4; ++i) {
        auto [next, ec] = std::from_chars(p, end, out[i]);
        if (ec != std::errc() || next == p) return false;
        p = next;
        if (i < 3) {
            if (p == end || *p != ':') return false;
            ++p;
        }
    }
    return p == end;
}

}  // namespace

std::string DiskLinks::usb_id(const std::string& disk) {
    // sysfs: block/sdX/device is the SCSI device, three levels under the USB
    // interface (host, target), four under the USB device.
    std::string scsi = sys_block_ + "/" + disk + "/device";
    std::string interface = scsi + "/../../..", usb = interface + "/..";
    auto if_class = sys_.read_file(interface + "/bInterfaceClass");
    if (!if_class || std::strtoul(if_class->c_str(), nullptr, 16) != 8) return "";  // not mass storage
    std::string vendor, model, instance;
    // SCSI (6) and ATAPI (2) transports: the SCSI INQUIRY names and the target:lun.
    long protocol = std::strtol(attribute(sys_.read_file(interface + "/bInterfaceSubClass")).c_str(), nullptr, 10);
    if (protocol == 6 || protocol == 2) {
        auto scsi_names = sys_.list_dir(scsi + "/scsi_device");  // one entry: "host:bus:target:lun"
        unsigned address[4];
        auto v = sys_.read_file(scsi + "/vendor"), m = sys_.read_file(scsi + "/model");
        if (scsi_names && scsi_names->size() == 1 && v && m && parse_scsi_address(scsi_names->front(), address)) {
            vendor = udev_id_part(*v);
            model = udev_id_part(*m);
            instance = std::to_string(address[2]) + ":" + std::to_string(address[3]);
        }
    }
    if (vendor.empty()) {
        auto v = sys_.read_file(usb + "/manufacturer");
        vendor = udev_id_part(v ? *v : attribute(sys_.read_file(usb + "/idVendor")));
    }
    if (model.empty()) {
        auto m = sys_.read_file(usb + "/product");
        model = udev_id_part(m ? *m : attribute(sys_.read_file(usb + "/idProduct")));
    }
    if (vendor.empty() && model.empty()) return "";
    std::string id = vendor + "_" + model;
    // A serial with control, non-ASCII bytes or a comma is not one (as udev rules).
    std::string serial = attribute(sys_.read_file(usb + "/serial"));
    serial.resize(std::min(serial.size(), serial.find('\0')));  // udev reads a C string
    bool valid = std::none_of(serial.begin(), serial.end(), [](char c) {
        auto b = static_cast<unsigned char>(c);
        return b < 0x20 || b > 0x7f || b == ',';
    });
    if (std::string s = valid ? udev_id_part(serial) : ""; !s.empty()) id += "_" + s;
    if (!instance.empty()) id += "-" + instance;
    return id;
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
    // A SATA disk behind libata: the kernel keeps its IDENTIFY data in VPD page 0x89.
    if (fs::trim(sys_.read_file(base + "/device/vendor").value_or("")) == "ATA") {
        if (auto page = sys_.read_file(base + "/device/vpd_pg89")) {
            if (std::string id = ata_id_from_vpd89(*page); !id.empty()) return "ata-" + id;
        }
    }
    if (std::string id = usb_id(disk); !id.empty()) return "usb-" + id;
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
