#include "builder/module_classes.hpp"

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <set>

#include "common/error.hpp"

namespace berth::builder {

const std::vector<ModuleClass>& module_classes() {
    static const std::vector<ModuleClass> classes = {
        {"virtio", "virtio PCI/MMIO transport, network, block, SCSI, console, entropy, balloon, vsock",
         {"kernel/drivers/virtio/", "kernel/drivers/net/virtio_net", "kernel/drivers/block/virtio_blk",
          "kernel/drivers/scsi/virtio_scsi", "kernel/drivers/char/virtio_console",
          "kernel/drivers/char/hw_random/virtio-rng", "kernel/net/vmw_vsock/vmw_vsock_virtio_transport"}},
        {"nic", "common wired NICs: Intel e1000/e1000e/igb/ixgbe/i40e/ice, Realtek, Broadcom, Mellanox, "
                "Amazon ENA, Google gVNIC, Microsoft MANA, VMware vmxnet3, Hyper-V netvsc",
         {"kernel/drivers/net/ethernet/intel/", "kernel/drivers/net/ethernet/realtek/",
          "kernel/drivers/net/ethernet/broadcom/", "kernel/drivers/net/ethernet/mellanox/",
          "kernel/drivers/net/ethernet/amazon/", "kernel/drivers/net/ethernet/google/",
          "kernel/drivers/net/ethernet/microsoft/",
          "kernel/drivers/net/vmxnet3/", "kernel/drivers/net/hyperv/"}},
        // The PCIe driver only: the fabrics transports (TCP, RDMA, FC) match no device
        // and nvme-rdma would bring the InfiniBand core.
        {"nvme", "NVMe disks", {"kernel/drivers/nvme/host/nvme", "kernel/drivers/nvme/host/nvme-core"}},
        {"ahci", "SATA disks: AHCI and the ATA core", {"kernel/drivers/ata/ahci", "kernel/drivers/ata/libahci",
                                                       "kernel/drivers/ata/ata_piix", "kernel/drivers/ata/libata"}},
        {"scsi", "SCSI disks and CD-ROMs, VMware PVSCSI, Hyper-V storvsc, LSI/Broadcom SAS",
         {"kernel/drivers/scsi/sd_mod", "kernel/drivers/scsi/sr_mod", "kernel/drivers/scsi/sg",
          "kernel/drivers/scsi/vmw_pvscsi", "kernel/drivers/scsi/hv_storvsc", "kernel/drivers/scsi/mpt3sas/",
          "kernel/drivers/scsi/megaraid/"}},
        {"usb-storage", "USB host controllers and USB mass storage (BOT and UAS)",
         {"kernel/drivers/usb/host/", "kernel/drivers/usb/storage/"}},
        // ACPI's power button reaches user space as an input device: acpid reads its
        // events from /dev/input/event*, which evdev provides.
        {"acpi-button", "ACPI power, sleep and lid buttons and their /dev/input events (evdev), for acpid",
         {"kernel/drivers/acpi/button", "kernel/drivers/input/evdev"}},
    };
    return classes;
}

std::vector<std::string> default_module_classes() {
    std::vector<std::string> out;
    for (const auto& c : module_classes()) out.push_back(c.name);
    return out;
}

bool is_module_class(const std::string& name) {
    return name == "all" || std::any_of(module_classes().begin(), module_classes().end(),
                                        [&](const ModuleClass& c) { return name == c.name; });
}

std::string module_class_names() {
    std::string out;
    for (const auto& c : module_classes()) out += std::string(c.name) + ", ";
    return out + "all";
}

std::vector<std::string> modules_of_classes(const ModuleTree& tree, const std::vector<std::string>& classes) {
    std::set<std::string> names;
    for (const auto& name : classes) {
        if (name == "all") {
            for (const auto& n : tree.all_module_names()) names.insert(n);
            continue;
        }
        auto it = std::find_if(module_classes().begin(), module_classes().end(),
                               [&](const ModuleClass& c) { return name == c.name; });
        if (it == module_classes().end())
            throw Error("unknown module class '" + name + "' (known: " + module_class_names() + ")", EINVAL);
        for (const char* p : it->paths)
            for (const auto& n : tree.names_under(p)) names.insert(n);
    }
    return {names.begin(), names.end()};
}

std::string modules_alias_text(const ModuleTree& tree, const std::vector<std::string>& shipped) {
    std::string out = "# Aliases extracted from modules themselves.\n";
    for (const auto& m : shipped)
        for (const auto& a : tree.aliases(m)) {
            // One line per alias: a pattern with a space or newline cannot be written.
            if (a.find_first_of(" \t\n") != std::string::npos) continue;
            out += "alias " + a + " " + m + "\n";
        }
    return out;
}

std::string modules_dep_text(const ModuleTree& tree, const std::vector<std::string>& load_order) {
    std::string out;
    for (const auto& m : load_order) {
        // The whole closure of m, dependencies first, then written in reverse.
        std::vector<std::string> closure;
        std::set<std::string> seen;
        std::function<void(const std::string&)> visit = [&](const std::string& n) {
            if (!seen.insert(n).second) return;
            if (!tree.file_of(n)) return;  // built in
            for (const auto& d : tree.depends(n)) visit(d);
            if (n != m) closure.push_back(n);
        };
        visit(m);
        out += *tree.file_of(m) + ":";
        for (auto it = closure.rbegin(); it != closure.rend(); ++it) out += " " + *tree.file_of(*it);
        out += "\n";
    }
    return out;
}

}  // namespace berth::builder
