#include "builder/module_deps.hpp"

#include <archive.h>
#include <elf.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "builder/suggest.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const char* const kModuleSuffixes[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};

bool is_module_file(const std::string& name) {
    for (const char* s : kModuleSuffixes)
        if (ends_with(name, s)) return true;
    return false;
}

std::string decompress(const std::string& path) {
    std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_filter_all(a.get());
    archive_read_support_format_raw(a.get());
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
        throw Error("decompress `" + path + "`: " + archive_error_string(a.get()));
    struct archive_entry* e;
    if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
        throw Error("decompress `" + path + "`: " + archive_error_string(a.get()));
    std::string out;
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    if (n < 0) throw Error("decompress `" + path + "`: " + archive_error_string(a.get()));
    return out;
}

template <class Ehdr, class Shdr>
std::string modinfo_section(const std::string& img, const std::string& path) {
    auto bad = [&](const char* why) { return Error("`" + path + "`: not a kernel module (" + why + ")", ENOEXEC); };
    if (img.size() < sizeof(Ehdr)) throw bad("truncated ELF header");
    Ehdr eh;
    std::memcpy(&eh, img.data(), sizeof eh);
    if (eh.e_shentsize != sizeof(Shdr) || eh.e_shoff == 0 ||
        eh.e_shoff + std::uint64_t(eh.e_shnum) * sizeof(Shdr) > img.size() || eh.e_shstrndx >= eh.e_shnum)
        throw bad("bad section headers");
    auto shdr = [&](std::size_t i) {
        Shdr sh;
        std::memcpy(&sh, img.data() + eh.e_shoff + i * sizeof(Shdr), sizeof sh);
        return sh;
    };
    Shdr strtab = shdr(eh.e_shstrndx);
    if (strtab.sh_offset + strtab.sh_size > img.size()) throw bad("bad section name table");
    for (std::size_t i = 0; i < eh.e_shnum; ++i) {
        Shdr sh = shdr(i);
        if (sh.sh_name >= strtab.sh_size) continue;
        const char* name = img.data() + strtab.sh_offset + sh.sh_name;
        std::size_t max = strtab.sh_size - sh.sh_name;
        if (strnlen(name, max) == max || std::strcmp(name, ".modinfo") != 0) continue;
        if (sh.sh_offset + sh.sh_size > img.size()) throw bad("truncated .modinfo");
        return img.substr(sh.sh_offset, sh.sh_size);
    }
    throw bad("no .modinfo section");
}

}  // namespace

std::string normalise_module_name(const std::string& name_or_path) {
    std::string n = name_or_path;
    if (auto slash = n.rfind('/'); slash != std::string::npos) n = n.substr(slash + 1);
    for (const char* s : kModuleSuffixes)
        if (ends_with(n, s)) {
            n.resize(n.size() - std::strlen(s));
            break;
        }
    for (char& c : n)
        if (c == '-') c = '_';
    return n;
}

std::vector<std::string> parse_modinfo_section(const std::string& blob) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < blob.size()) {
        std::size_t j = blob.find('\0', i);
        if (j == std::string::npos) j = blob.size();
        if (j > i) out.push_back(blob.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::vector<std::string> read_modinfo(const std::string& ko_path) {
    std::string img = ends_with(ko_path, ".ko") ? fs::read_file(ko_path) : decompress(ko_path);
    if (img.size() < EI_NIDENT || std::memcmp(img.data(), ELFMAG, SELFMAG) != 0)
        throw Error("`" + ko_path + "`: not an ELF file", ENOEXEC);
    if (img[EI_DATA] != ELFDATA2LSB)
        throw Error("`" + ko_path + "`: big-endian modules are not supported", ENOEXEC);
    std::string sec = img[EI_CLASS] == ELFCLASS64
                          ? modinfo_section<Elf64_Ehdr, Elf64_Shdr>(img, ko_path)
                          : modinfo_section<Elf32_Ehdr, Elf32_Shdr>(img, ko_path);
    return parse_modinfo_section(sec);
}

std::vector<std::string> modinfo_depends(const std::vector<std::string>& modinfo) {
    std::vector<std::string> out;
    for (const auto& kv : modinfo) {
        if (kv.rfind("depends=", 0) != 0) continue;
        std::string list = kv.substr(8);
        std::size_t i = 0;
        while (i <= list.size()) {
            std::size_t j = list.find(',', i);
            if (j == std::string::npos) j = list.size();
            std::string d = normalise_module_name(fs::trim(list.substr(i, j - i)));
            if (!d.empty() && std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
            i = j + 1;
        }
    }
    return out;
}

std::vector<std::string> modinfo_aliases(const std::vector<std::string>& modinfo) {
    std::vector<std::string> out;
    for (const auto& kv : modinfo)
        if (kv.rfind("alias=", 0) == 0 && kv.size() > 6) out.push_back(kv.substr(6));
    return out;
}

ModuleLoadPlan resolve_modules(const std::vector<std::string>& requested, const ModuleFacts& facts) {
    ModuleLoadPlan plan;
    enum class State { visiting, done };
    std::map<std::string, State> state;
    std::vector<std::string> stack;  // for cycle messages

    std::function<void(const std::string&, const std::string&)> visit =
        [&](const std::string& name, const std::string& needed_by) {
            auto it = state.find(name);
            if (it != state.end()) {
                if (it->second == State::done) return;
                std::string cycle;
                for (const auto& s : stack) cycle += s + " -> ";
                throw Error("kernel module dependency cycle: " + cycle + name, ELOOP);
            }
            if (facts.is_builtin && facts.is_builtin(name)) {
                state[name] = State::done;
                plan.builtin.push_back(name);
                return;
            }
            auto deps = facts.depends(name);
            if (!deps) {
                std::string msg = needed_by.empty()
                                      ? "unknown kernel module '" + name + "'"
                                      : "kernel module '" + needed_by + "' depends on unknown module '" + name + "'";
                if (facts.all_names)
                    if (auto best = closest_match(name, facts.all_names()))
                        msg += "; did you mean '" + *best + "'?";
                throw Error(msg, ENOENT);
            }
            state[name] = State::visiting;
            stack.push_back(name);
            for (const auto& d : *deps) visit(d, name);
            stack.pop_back();
            state[name] = State::done;
            plan.load_order.push_back(name);
        };
    for (const auto& r : requested) visit(normalise_module_name(r), "");
    return plan;
}

static void scan_dir(const std::string& root, const std::string& rel,
                     std::map<std::string, std::string>& files) {
    std::string dir = rel.empty() ? root : fs::join(root, rel);
    for (const auto& name : fs::list_dir(dir)) {
        std::string r = rel.empty() ? name : rel + "/" + name;
        std::string full = fs::join(root, r);
        if (fs::is_dir(full)) {
            scan_dir(root, r, files);
        } else if (is_module_file(name)) {
            files.emplace(normalise_module_name(name), r);  // first (sorted) wins
        }
    }
}

ModuleTree::ModuleTree(std::string modules_dir) : dir_(std::move(modules_dir)) {
    for (const char* sub : {"kernel", "updates", "extra"}) {
        std::string d = fs::join(dir_, sub);
        if (fs::is_dir(d)) scan_dir(dir_, sub, files_);
    }
    if (auto builtin = fs::try_read_file(fs::join(dir_, "modules.builtin"))) {
        std::size_t i = 0;
        while (i < builtin->size()) {
            std::size_t j = builtin->find('\n', i);
            if (j == std::string::npos) j = builtin->size();
            std::string line = fs::trim(builtin->substr(i, j - i));
            if (!line.empty()) builtin_.insert(normalise_module_name(line));
            i = j + 1;
        }
    }
}

std::optional<std::string> ModuleTree::file_of(const std::string& name) const {
    auto it = files_.find(normalise_module_name(name));
    if (it == files_.end()) return std::nullopt;
    return it->second;
}

bool ModuleTree::is_builtin(const std::string& name) const {
    return builtin_.count(normalise_module_name(name)) != 0;
}

const std::vector<std::string>& ModuleTree::modinfo(const std::string& name) const {
    auto c = modinfo_cache_.find(name);
    if (c != modinfo_cache_.end()) return c->second;
    auto rel = file_of(name);
    if (!rel) throw Error("unknown kernel module '" + name + "'", ENOENT);
    return modinfo_cache_[name] = read_modinfo(fs::join(dir_, *rel));
}

std::vector<std::string> ModuleTree::depends(const std::string& name) const {
    return modinfo_depends(modinfo(name));
}

std::vector<std::string> ModuleTree::aliases(const std::string& name) const {
    return modinfo_aliases(modinfo(name));
}

std::vector<std::string> ModuleTree::names_under(const std::string& rel_prefix) const {
    std::vector<std::string> out;
    for (const auto& [n, rel] : files_)
        if (rel.rfind(rel_prefix, 0) == 0 && (rel_prefix.back() == '/' || rel.size() == rel_prefix.size() ||
                                             rel[rel_prefix.size()] == '.'))
            out.push_back(n);
    return out;
}

std::vector<std::string> ModuleTree::all_module_names() const {
    std::vector<std::string> out;
    for (const auto& [n, rel] : files_) out.push_back(n);
    return out;
}

ModuleFacts ModuleTree::facts() const {
    ModuleFacts f;
    f.is_builtin = [this](const std::string& n) { return is_builtin(n); };
    f.depends = [this](const std::string& n) -> std::optional<std::vector<std::string>> {
        if (!file_of(n)) return std::nullopt;
        return depends(n);
    };
    f.all_names = [this] {
        std::vector<std::string> names;
        for (const auto& [n, p] : files_) names.push_back(n);
        names.insert(names.end(), builtin_.begin(), builtin_.end());
        return names;
    };
    return f;
}

}  // namespace berth::builder
