#include "builder/yaml_model.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>
#include <filesystem>
#include <functional>
#include <map>
#include <utility>

#include "builder/arch.hpp"
#include "builder/container_keys.hpp"
#include "builder/module_classes.hpp"
#include "builder/oci_config_gen.hpp"
#include "builder/suggest.hpp"
#include "builder/yaml_input.hpp"
#include "builder/yaml_json.hpp"
#include "builder/yaml_syntax_hint.hpp"
#include "common/fs.hpp"
#include "config/byte_size.hpp"
#include "config/image_reference.hpp"
#include "common/log.hpp"

namespace berth::builder {

bool before_in_files(const std::vector<std::string>& files, const SourcePos& a, const SourcePos& b) {
    auto rank = [&](const SourcePos& at) {
        auto it = std::find(files.begin(), files.end(), at.file);
        return std::make_tuple(std::size_t(it - files.begin()), at.line, at.column);
    };
    return rank(a) < rank(b);
}

std::string SourcePos::str() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

YamlError::YamlError(const SourcePos& pos, const std::string& path, const std::string& message)
    : Error(pos.str() + ": " + (path.empty() ? "" : path + ": ") + message, EINVAL), where(pos) {}

const char* stage_name(Stage s) {
    switch (s) {
        case Stage::onboot: return "onboot";
        case Stage::onshutdown: return "onshutdown";
        case Stage::services: return "services";
    }
    return "?";
}

std::vector<const ContainerSpec*> ImageSpec::containers() const {
    std::vector<const ContainerSpec*> out;
    for (const auto* list : {&onboot, &onshutdown, &services})
        for (const auto& c : *list) out.push_back(&c);
    return out;
}

const std::vector<std::string>& output_formats() {
    static const std::vector<std::string> f = {"kernel+initrd", "kernel+squashfs", "tar", "iso-bios",
                                               "raw-bios",      "raw-efi",         "qcow2-bios", "qcow2-efi",
                                               "vhd",           "gcp",             "aws",        "iso-efi",
                                               "uki",
                                               "raw-efi-ab"};
    return f;
}

bool is_output_format(const std::string& f) {
    const auto& all = output_formats();
    return std::find(all.begin(), all.end(), f) != all.end();
}

namespace {

// LinuxKit reads a `source` starting with `~/` in the home directory ($HOME).
std::string home_expanded(const std::string& path) {
    const char* home = std::getenv("HOME");
    if (path.rfind("~/", 0) != 0 || !home || home[0] != '/') return path;
    return fs::join(home, path.substr(2));
}

using Handler = std::function<void(const YAML::Node& value, const std::string& path)>;
using KeyTable = std::vector<std::pair<std::string, Handler>>;

// LinuxKit keys berth does not implement yet, per section.
const std::vector<std::string> kUnsupportedTop = {};
const std::vector<std::string> kUnsupportedKernel = {};

std::string join_path(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "." + b;
}
std::string index_path(const std::string& a, std::size_t i) {
    return a + "[" + std::to_string(i) + "]";
}

// Thrown when an entry's errors have been recorded one by one and the entry is
// left out; its name, if valid, still takes part in the check for repeated names.
struct EntryLeftOut {
    EntryName name;
};

class Parser {
public:
    // With `problems`, an error in one entry or top-level key is recorded and
    // parsing goes on with the next, so that one run reports every error.
    Parser(std::string file, std::vector<YamlError>* problems) : file_(std::move(file)), problems_(problems) {}

    // Runs `fn`; when collecting, a YamlError is recorded instead of thrown.
    template <class Fn>
    void guarded(Fn&& fn) const {
        if (!problems_) return fn();
        try {
            fn();
        } catch (const YamlError& e) {
            problems_->push_back(e);
        } catch (const EntryLeftOut&) {
            // Its errors are recorded already.
        }
    }

    // Runs every check of `checks` on its own; when collecting, each failing one is
    // recorded and, if any failed, the entry is left out (EntryLeftOut) so that no
    // error follows from an earlier one. Without collecting, the first error throws.
    void each_check(std::initializer_list<std::function<void()>> checks) const {
        std::size_t before = problems_ ? problems_->size() : 0;
        for (const auto& c : checks) guarded(c);
        if (problems_ && problems_->size() > before) throw EntryLeftOut{};
    }

    SourcePos pos(const YAML::Node& n) const {
        YAML::Mark m = n.Mark();
        if (m.is_null()) return {file_, 0, 0};
        return {file_, m.line + 1, m.column + 1};
    }

    [[noreturn]] void fail(const YAML::Node& n, const std::string& path,
                           const std::string& msg) const {
        throw YamlError(pos(n), path, msg);
    }

    static std::string describe(const YAML::Node& n) {
        switch (n.Type()) {
            case YAML::NodeType::Null: return "nothing";
            case YAML::NodeType::Scalar: return shown_value(n.Scalar());
            case YAML::NodeType::Sequence: return "a list";
            case YAML::NodeType::Map: return "a map";
            default: return "an undefined value";
        }
    }

    [[noreturn]] void expected(const YAML::Node& n, const std::string& path,
                               const std::string& what) const {
        fail(n, path, "expected " + what + ", got " + describe(n));
    }

    std::string str(const YAML::Node& n, const std::string& path) const {
        if (!n.IsScalar()) expected(n, path, "a string");
        return n.Scalar();
    }

    // An image: a path (./, ../, /) or a reference the build can resolve, checked
    // here so that `validate` refuses what the build would.
    std::string image_ref(const YAML::Node& n, const std::string& path) const {
        std::string ref = str(n, path);
        if (ref.empty()) expected(n, path, "an image reference");
        if (config::is_image_path(ref)) return ref;
        if (ref.rfind("@pkg:", 0) == 0)
            fail(n, path, "'" + ref + "': LinuxKit's @pkg: build templates are not supported; build the package "
                          "and name its image (a reference, or a path starting with ./, ../ or /)");
        try {
            config::parse_image_reference(ref);
        } catch (const Error& e) {
            fail(n, path, std::string(e.what()) + " (a path must start with ./, ../ or /)");
        }
        return ref;
    }

    bool boolean(const YAML::Node& n, const std::string& path) const {
        if (n.IsScalar()) {
            bool b;
            if (YAML::convert<bool>::decode(n, b)) return b;
        }
        expected(n, path, "true or false");
    }

    std::uint32_t uint32(const YAML::Node& n, const std::string& path) const {
        if (n.IsScalar()) {
            const std::string& s = n.Scalar();
            if (!s.empty() && s.size() <= 10 &&
                s.find_first_not_of("0123456789") == std::string::npos) {
                unsigned long long v = std::stoull(s);
                if (v <= 0xffffffffULL) return std::uint32_t(v);
            }
        }
        expected(n, path, "a number between 0 and 4294967295");
    }

    std::uint32_t file_mode(const YAML::Node& n, const std::string& path) const {
        if (n.IsScalar()) {
            std::string s = n.Scalar();
            if (s.rfind("0o", 0) == 0) s = s.substr(2);
            if (!s.empty() && s.size() <= 5 &&
                s.find_first_not_of("01234567") == std::string::npos) {
                unsigned long v = std::stoul(s, nullptr, 8);
                if (v <= 07777) return std::uint32_t(v);
            }
        }
        expected(n, path, "an octal file mode such as \"0644\"");
    }

    std::vector<std::string> str_list(const YAML::Node& n, const std::string& path) const {
        std::vector<std::string> out;
        if (n.IsNull()) return out;
        if (!n.IsSequence()) expected(n, path, "a list of strings");
        for (std::size_t i = 0; i < n.size(); ++i) out.push_back(str(n[i], index_path(path, i)));
        return out;
    }

    // Walks a map, dispatching each key to its handler. Unknown keys are errors naming
    // the closest known key; duplicate keys are errors.
    void walk_map(const YAML::Node& n, const std::string& path, const KeyTable& keys,
                  const std::vector<std::string>& unsupported) const {
        if (!n.IsMap()) expected(n, path, "a map");
        std::map<std::string, SourcePos> seen;
        // Collecting: every key on its own, so an entry's errors are all reported,
        // then the entry is left out.
        std::size_t before = problems_ ? problems_->size() : 0;
        for (const auto& kv : n) guarded([&] {
            const YAML::Node k = kv.first;
            const YAML::Node v = kv.second;
            if (!k.IsScalar()) expected(k, path, "a string key");
            const std::string& key = k.Scalar();
            auto [prev, inserted] = seen.emplace(key, pos(k));
            if (!inserted)
                fail(k, path, "duplicate key '" + key + "' (first at " + prev->second.str() + ")");
            auto h = std::find_if(keys.begin(), keys.end(),
                                  [&](const auto& e) { return e.first == key; });
            if (h != keys.end()) {
                h->second(v, join_path(path, key));
                return;
            }
            if (std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end())
                fail(k, path, "'" + key + "' is a LinuxKit key that berth does not support yet");
            std::vector<std::string> names;
            for (const auto& e : keys) names.push_back(e.first);
            std::string msg = unknown_key_message(key, names);
            if (!closest_match(key, names)) {
                msg += "; expected one of:";
                for (const auto& nm : names) msg += " " + nm;
            }
            fail(k, path, msg);
        });
        if (problems_ && problems_->size() > before) throw EntryLeftOut{};
    }

    // A file path in the image: relative, normalised, without "..".
    std::string image_path(const YAML::Node& n, const std::string& path) const {
        std::string raw = str(n, path);
        std::string out;
        std::size_t i = 0;
        while (i <= raw.size()) {
            std::size_t j = raw.find('/', i);
            if (j == std::string::npos) j = raw.size();
            std::string part = raw.substr(i, j - i);
            if (part == "..") fail(n, path, "path '" + raw + "' must not contain '..'");
            if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
            i = j + 1;
        }
        if (out.empty()) fail(n, path, "path '" + raw + "' names the root directory");
        return out;
    }

    static bool valid_name(const std::string& s) {
        if (s.empty() || s[0] == '.' || s[0] == '-') return false;
        for (char c : s)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
                return false;
        return true;
    }

    ContainerSpec container(const YAML::Node& n, const std::string& path, Stage stage,
                            std::size_t index) const {
        ContainerSpec c;
        c.stage = stage;
        c.index = index;
        c.pos = pos(n);
        if (!n.IsMap()) expected(n, path, "a map");
        nlohmann::json obj = yaml_to_json(n, path, file_, c.key_pos);
        // Collecting: name, image, every other key and the required keys each on
        // their own, so all of an entry's errors are reported; the entry is then left out.
        std::size_t before = problems_ ? problems_->size() : 0;
        guarded([&] {
            if (!obj.contains("name")) return;
            c.name = obj["name"].is_string() ? obj["name"].get<std::string>() : "";
            if (!valid_name(c.name))
                fail(n["name"], path + ".name",
                     "container name '" + n["name"].Scalar() + "' may only contain letters, digits, '_', '-' and '.'");
        });
        guarded([&] {
            if (!obj.contains("image")) return;
            if (!obj["image"].is_string()) expected(n["image"], path + ".image", "a string");
            c.image = obj["image"].get<std::string>();
            if (!c.image.empty()) image_ref(n["image"], path + ".image");
            c.image_pos = pos(n["image"]);
        });
        if (!problems_) {
            apply_container_keys(c, obj, path, yaml_key_fail(c));
        } else {
            try {
                apply_container_keys(c, obj, path, yaml_key_fail(c));
            } catch (const YamlError&) {
                // Every key on its own, so each bad one is reported; the good
                // ones stay, so that the policy's values (restart, stopTimeout,
                // readiness...) are checked as well, although the entry is left out.
                for (const auto& [k, v] : obj.items())
                    guarded([&, k = k, v = v] { apply_container_keys(c, nlohmann::json{{k, v}}, path, yaml_key_fail(c)); });
                guarded([&] {
                    for (auto& e : runtime_config_errors(c)) problems_->push_back(std::move(e));
                });
            }
        }
        guarded([&] { if (!obj.contains("name")) fail(n, path, "missing required key 'name'"); });
        guarded([&] {
            if (!obj.contains("image") || (obj["image"].is_string() && c.image.empty()))
                fail(n, path, "container '" + c.name + "': missing required key 'image'");
        });
        if (problems_ && problems_->size() > before)
            throw EntryLeftOut{valid_name(c.name) ? EntryName{c.name, c.pos, c.index} : EntryName{}};
        obj.erase("name");
        obj.erase("image");
        c.yaml_keys = std::move(obj);
        return c;
    }

    // `names`: where each entry's name goes, kept or left out.
    std::vector<ContainerSpec> container_list(const YAML::Node& n, const std::string& path, Stage stage,
                                              std::vector<EntryName>* names = nullptr) const {
        std::vector<ContainerSpec> out;
        if (n.IsNull()) return out;
        if (!n.IsSequence()) expected(n, path, "a list of containers");
        for (std::size_t i = 0; i < n.size(); ++i) {
            guarded([&] {
                try {
                    out.push_back(container(n[i], index_path(path, i), stage, i));
                    if (names) names->push_back({out.back().name, out.back().pos, i});
                } catch (const EntryLeftOut& e) {
                    if (names && !e.name.name.empty()) names->push_back(e.name);
                    throw;
                }
            });
        }
        return out;
    }

    void set_kernel(KernelSpec& k, const YAML::Node& v, const std::string& p) const {
        if (!k.package.empty() || !k.image.empty())
            fail(v, p, "give only one of kernel.image, kernel.package and kernel.path");
        k.package = str(v, p);
        if (k.package.empty()) expected(v, p, "a package name, a .deb or a directory");
    }

    // kernel.binary / tar / ucode: a file name inside the kernel image. An empty
    // value keeps LinuxKit's meaning: `binary: ""` the default `kernel`,
    // `tar: ""` no modules (as `none`), `ucode: ""` no microcode.
    std::string image_file_name(const YAML::Node& v, const std::string& p, const std::string& if_empty) const {
        std::string s = str(v, p);
        if (s.empty()) return if_empty;
        while (!s.empty() && s[0] == '/') s.erase(0, 1);
        if (s.empty() || s == "." || s.find("..") != std::string::npos)
            expected(v, p, "a file name inside the kernel image");
        return s;
    }

    KernelSpec kernel(const YAML::Node& n, const std::string& path) const {
        KernelSpec k;
        k.pos = pos(n);
        std::vector<std::pair<YAML::Node, std::string>> image_only;  // binary/tar/ucode
        KeyTable keys = {
            {"package", [&](const YAML::Node& v, const std::string& p) { set_kernel(k, v, p); }},
            {"path", [&](const YAML::Node& v, const std::string& p) { set_kernel(k, v, p); }},
            {"image", [&](const YAML::Node& v, const std::string& p) {
                 if (!k.package.empty() || !k.image.empty())
                     fail(v, p, "give only one of kernel.image, kernel.package and kernel.path");
                 k.image = image_ref(v, p);
                 k.image_pos = pos(v);
             }},
            {"binary", [&](const YAML::Node& v, const std::string& p) {
                 k.binary = image_file_name(v, p, "kernel");
                 // LinuxKit: an empty binary leaves an earlier file's in force.
                 if (!str(v, p).empty()) k.image_keys.push_back({"binary", p, pos(v)});
                 image_only.emplace_back(v, p);
             }},
            {"tar", [&](const YAML::Node& v, const std::string& p) {
                 k.tar = image_file_name(v, p, "none");
                 k.image_keys.push_back({"tar", p, pos(v)});
                 image_only.emplace_back(v, p);
             }},
            {"ucode", [&](const YAML::Node& v, const std::string& p) {
                 k.ucode = image_file_name(v, p, "");
                 k.image_keys.push_back({"ucode", p, pos(v)});
                 image_only.emplace_back(v, p);
             }},
            {"cmdline", [&](const YAML::Node& v, const std::string& p) {
                 k.cmdline = str(v, p);
                 if (k.cmdline.size() > kKernelCmdlineMax)
                     fail(v, p, fmt::format("{} bytes; the kernel keeps at most {} and would cut the rest",
                                            k.cmdline.size(), kKernelCmdlineMax));
             }},
            {"modules", [&](const YAML::Node& v, const std::string& p) {
                 if (v.IsNull()) return;
                 if (v.IsScalar()) {
                     std::string s = str(v, p);
                     if (s == "auto") k.module_classes = default_module_classes();
                     else if (s == "all") k.module_classes = std::vector<std::string>{"all"};
                     else expected(v, p, "`auto`, `all`, {classes: [...]} or a list of module names");
                     return;
                 }
                 if (v.IsMap()) {
                     std::vector<std::string> classes;
                     walk_map(v, p, {{"classes", [&](const YAML::Node& c, const std::string& cp) {
                                          if (!c.IsSequence()) expected(c, cp, "a list of hardware class names");
                                          for (std::size_t i = 0; i < c.size(); ++i) {
                                              std::string ip = index_path(cp, i);
                                              std::string name = str(c[i], ip);
                                              if (!is_module_class(name)) expected(c[i], ip, "one of " + module_class_names());
                                              classes.push_back(name);
                                          }
                                      }}},
                              {});
                     k.module_classes = classes;
                     return;
                 }
                 if (!v.IsSequence()) expected(v, p, "`auto`, `all`, {classes: [...]} or a list of module names");
                 k.modules_listed = true;
                 for (std::size_t i = 0; i < v.size(); ++i) {
                     std::string ip = index_path(p, i);
                     std::string s = fs::trim(str(v[i], ip));
                     ModuleRequest m;
                     m.pos = pos(v[i]);
                     std::size_t sp = s.find_first_of(" \t");
                     m.name = s.substr(0, sp);
                     if (sp != std::string::npos) m.params = fs::trim(s.substr(sp));
                     if (m.name.empty() ||
                         m.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
                             std::string::npos)
                         expected(v[i], ip, "a module name optionally followed by parameters");
                     k.modules.push_back(std::move(m));
                 }
             }},
        };
        // Collecting: a bad key leaves the entry out, after the checks below that
        // do not follow from it.
        bool left_out = false;
        try {
            walk_map(n, path, keys, kUnsupportedKernel);
        } catch (const EntryLeftOut&) {
            left_out = true;
        }
        // One of several files may give only some kernel keys (`cmdline`); the
        // merged image is checked for a kernel source instead.
        if (!left_out && kernel_required_ && k.package.empty() && k.image.empty())
            fail(n, path, "missing required key 'image' (or 'package' or 'path')");
        if (!k.package.empty()) {
            k.image_keys.clear();  // reported here, not again after the merge
            for (const auto& [v, p] : image_only)
                guarded([&] { fail(v, p, "names a file in a kernel image; it needs kernel.image, not kernel.package/path"); });
        }
        if (left_out || (problems_ && !k.package.empty() && !image_only.empty())) throw EntryLeftOut{};
        return k;
    }

    // A number, or (LinuxKit) a container's name standing for its allocated id.
    void file_id(const YAML::Node& v, const std::string& p, std::uint32_t& id, std::optional<std::string>& name) const {
        if (v.IsScalar() && !v.Scalar().empty() && v.Scalar().find_first_not_of("0123456789") != std::string::npos) {
            if (v.Scalar().find_first_of(": \t") != std::string::npos)
                expected(v, p, "a number or the name of a container of the image");
            name = v.Scalar();
            return;
        }
        id = uint32(v, p);
    }

    FileSpec file(const YAML::Node& n, const std::string& path) const {
        FileSpec f;
        f.pos = pos(n);
        KeyTable keys = {
            {"path", [&](const YAML::Node& v, const std::string& p) { f.path = image_path(v, p); }},
            {"contents", [&](const YAML::Node& v, const std::string& p) { f.contents = str(v, p); }},
            {"source", [&](const YAML::Node& v, const std::string& p) { f.source = home_expanded(str(v, p)); }},
            {"symlink", [&](const YAML::Node& v, const std::string& p) { f.symlink = str(v, p); }},
            {"directory", [&](const YAML::Node& v, const std::string& p) { f.directory = boolean(v, p); }},
            {"optional", [&](const YAML::Node& v, const std::string& p) { f.optional = boolean(v, p); }},
            {"mode", [&](const YAML::Node& v, const std::string& p) { f.mode = file_mode(v, p); }},
            {"uid", [&](const YAML::Node& v, const std::string& p) { file_id(v, p, f.uid, f.uid_name); }},
            {"gid", [&](const YAML::Node& v, const std::string& p) { file_id(v, p, f.gid, f.gid_name); }},
            {"metadata", [&](const YAML::Node& v, const std::string& p) {
                 f.metadata = str(v, p);
                 if (*f.metadata != "yaml" && *f.metadata != "json") expected(v, p, "yaml or json");
             }},
        };
        walk_map(n, path, keys, {});
        int kinds = int(f.contents.has_value()) + int(f.source.has_value()) +
                    int(f.symlink.has_value()) + int(f.directory) + int(f.metadata.has_value());
        each_check({
            [&] { if (f.path.empty()) fail(n, path, "missing required key 'path'"); },
            [&] {
                if (kinds > 1)
                    fail(n, path, "'" + f.path + "': give only one of contents, source, symlink, directory, metadata");
            },
        });
        if (kinds == 0) f.contents = "";  // LinuxKit: an empty file
        return f;
    }

    // The hardware watchdog PID 1 opens and pings: {device, timeout, interval},
    // checked by the model PID 1 reads image.json with, so that a value PID 1
    // would refuse at boot fails the build at its line.
    config::WatchdogConfig watchdog(const YAML::Node& n, const std::string& path) const {
        nlohmann::json w = nlohmann::json::object();
        std::map<std::string, YAML::Node> nodes;
        KeyTable keys;
        for (const char* k : {"device", "timeout", "interval"})
            keys.push_back({k, [&, k](const YAML::Node& v, const std::string& p) {
                                nodes[k] = v;
                                w[k] = k == std::string("device") ? nlohmann::json(str(v, p)) : duration(v, p);
                            }});
        walk_map(n, path, keys, {});
        try {
            return *config::parse_image_config({{"watchdog", w}}, file_).watchdog;
        } catch (const oci::ConfigError& e) {
            // "watchdog.timeout: must be between 1s and 1h" -> at the timeout value.
            const std::string& first = e.problems().front();
            std::string where = first.substr(0, first.find(": "));
            std::string key = where.substr(where.find('.') + 1);
            auto it = nodes.find(key);
            fail(it != nodes.end() ? it->second : n, join_path(path, key), first.substr(first.find(": ") + 2));
        }
    }

    // What PID 1 does when its own setup fails: {action, delay}, checked by the
    // model PID 1 reads image.json with.
    config::EmergencyConfig emergency(const YAML::Node& n, const std::string& path) const {
        nlohmann::json e = nlohmann::json::object();
        std::map<std::string, YAML::Node> nodes;
        KeyTable keys;
        for (const char* k : {"action", "delay"})
            keys.push_back({k, [&, k](const YAML::Node& v, const std::string& p) {
                                nodes[k] = v;
                                e[k] = k == std::string("action") ? nlohmann::json(str(v, p)) : duration(v, p);
                            }});
        walk_map(n, path, keys, {});
        try {
            return *config::parse_image_config({{"emergency", e}}, file_).emergency;
        } catch (const oci::ConfigError& err) {
            const std::string& first = err.problems().front();
            std::string where = first.substr(0, first.find(": "));
            std::string key = where.substr(where.find('.') + 1);
            auto it = nodes.find(key);
            fail(it != nodes.end() ? it->second : n, join_path(path, key), first.substr(first.find(": ") + 2));
        }
    }

    // DUR as in the service policy: "250ms", "10s", "2m", "1h" or a number of seconds.
    // Kept as written; the value is checked here so a typo fails the build.
    nlohmann::json duration(const YAML::Node& n, const std::string& path) const {
        if (!n.IsScalar()) expected(n, path, "a duration such as \"10s\"");
        const std::string& s = n.Scalar();
        bool seconds = !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos;
        nlohmann::json v = seconds ? nlohmann::json(std::strtod(s.c_str(), nullptr)) : nlohmann::json(s);
        if (!config::parse_duration(v) || (seconds && std::count(s.begin(), s.end(), '.') > 1))
            expected(n, path, "a non-negative duration such as \"250ms\", \"10s\", \"2m\", \"1h\" or a number of seconds");
        return v;
    }

    void check_duplicate_keys(const YAML::Node& root) const {
        std::map<std::string, SourcePos> seen;
        for (const auto& kv : root) {
            if (!kv.first.IsScalar()) continue;
            auto [prev, inserted] = seen.emplace(kv.first.Scalar(), pos(kv.first));
            if (!inserted)
                fail(kv.first, "", "duplicate key '" + kv.first.Scalar() + "' (first at " + prev->second.str() + ")");
        }
    }

    // LinuxKit's `volumes:` entry: {name, image, readonly, format, platforms}.
    VolumeSpec volume(const YAML::Node& n, const std::string& path) const {
        VolumeSpec v;
        v.pos = pos(n);
        KeyTable keys = {
            {"name", [&](const YAML::Node& x, const std::string& p) {
                 v.name = str(x, p);
                 if (!is_volume_name(v.name))
                     fail(x, p, "volume name '" + v.name + "' may only contain lower-case letters, digits, '_' and '-'");
             }},
            {"image", [&](const YAML::Node& x, const std::string& p) {
                 v.image = image_ref(x, p);
                 v.image_pos = pos(x);
             }},
            {"readonly", [&](const YAML::Node& x, const std::string& p) { v.readonly = boolean(x, p); }},
            {"format", [&](const YAML::Node& x, const std::string& p) {
                 std::string f = str(x, p);
                 if (f != "filesystem" && f != "oci") expected(x, p, "filesystem or oci");
                 v.oci_layout = f == "oci";
             }},
            {"platforms", [&](const YAML::Node& x, const std::string& p) {
                 // LinuxKit: the platforms whose manifests a `format: oci` volume holds.
                 v.platforms = str_list(x, p);
                 for (std::size_t i = 0; i < v.platforms.size(); ++i) {
                     const std::string& pl = v.platforms[i];
                     auto slash = pl.find('/');
                     if (slash == std::string::npos || slash == 0 || slash + 1 == pl.size())
                         expected(x[i], index_path(p, i), "a platform such as \"linux/amd64\"");
                 }
             }},
        };
        walk_map(n, path, keys, {});
        if (v.name.empty()) fail(n, path, "missing required key 'name'");
        if (v.oci_layout && v.image.empty()) fail(n, path, "volume '" + v.name + "': format 'oci' needs an 'image'");
        return v;
    }

    // berth's own top-level settings.
    void berth_settings(ImageSpec& img, const YAML::Node& n, const std::string& path) const {
        KeyTable keys = {
            {"strict", [&](const YAML::Node& v, const std::string& p) { img.strict = boolean(v, p); }},
            {"data_partition", [&](const YAML::Node& v, const std::string& p) {
                 img.data_partition = data_partition(v, p);
             }},
            {"verity", [&](const YAML::Node& v, const std::string& p) { img.verity = boolean(v, p); }},
        };
        walk_map(n, path, keys, {});
    }

    UpdateSpec update(const YAML::Node& n, const std::string& path) const {
        UpdateSpec u;
        u.pos = pos(n);
        bool sized = false;
        KeyTable keys = {
            {"slotSize", [&](const YAML::Node& v, const std::string& p) {
                 try {
                     u.slot_bytes = config::parse_byte_size(str(v, p));
                 } catch (const std::exception& e) {
                     fail(v, p, e.what());
                 }
                 if (u.slot_bytes < (4u << 20) || u.slot_bytes % (1u << 20))
                     fail(v, p, "a slot is a whole number of MiB, at least 4M");
                 sized = true;
             }},
            {"version", [&](const YAML::Node& v, const std::string& p) {
                 u.version = str(v, p);
                 if (u.version.empty() || u.version.find_first_of("\n\r") != std::string::npos)
                     expected(v, p, "a one-line version string");
             }},
            {"commitWhenReady", [&](const YAML::Node& v, const std::string& p) { u.commit_when_ready = str_list(v, p); }},
            {"deadline", [&](const YAML::Node& v, const std::string& p) {
                 auto ms = config::parse_duration(duration(v, p));
                 if (*ms < 1000 || *ms > 3600000) fail(v, p, "must be between 1s and 1h");
                 u.deadline_ms = *ms;
             }},
            {"tries", [&](const YAML::Node& v, const std::string& p) {
                 std::string t = str(v, p);
                 if (t.size() != 1 || t[0] < '1' || t[0] > '9') expected(v, p, "a number of boot attempts, 1 to 9");
                 u.tries = t[0] - '0';
             }},
        };
        if (!n.IsMap()) expected(n, path, "a map with slotSize, version, commitWhenReady, deadline, tries");
        walk_map(n, path, keys, {});
        if (!sized) fail(n, path, "the A/B slots need a size (e.g. slotSize: 256M)");
        return u;
    }

    DataPartitionSpec data_partition(const YAML::Node& n, const std::string& path) const {
        DataPartitionSpec d;
        bool sized = false;
        KeyTable keys = {
            {"size", [&](const YAML::Node& v, const std::string& p) {
                 std::string s = str(v, p);
                 try {
                     d.bytes = config::parse_byte_size(s);
                 } catch (const std::exception& e) {
                     fail(v, p, e.what());
                 }
                 if (d.bytes < (1u << 20)) fail(v, p, "the data partition needs at least 1M");
                 sized = true;
             }},
            {"label", [&](const YAML::Node& v, const std::string& p) {
                 d.label = str(v, p);
                 if (d.label.empty() || d.label.size() > 36 ||
                     d.label.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
                         std::string::npos)
                     fail(v, p, "expected 1 to 36 of A-Z a-z 0-9 . _ - (a GPT partition name)");
             }},
        };
        if (!n.IsMap()) expected(n, path, "a map with size and label");
        walk_map(n, path, keys, {});
        if (!sized) fail(n, path, "the data partition needs a size (e.g. size: 1G)");
        return d;
    }

    ImageSpec image(const YAML::Node& root, const std::string& file, const std::string& base,
                    bool kernel_required) const {
        ImageSpec img;
        img.file = file;
        img.base_dir = base;
        kernel_required_ = kernel_required;
        bool have_kernel = false;
        SourcePos key_pos;  // of the top-level key being read: a warning about a whole key points at it
        if (root.IsNull()) fail(root, "", "the file is empty; expected a map with at least 'kernel'");
        KeyTable keys = {
            {"kernel", [&](const YAML::Node& v, const std::string& p) {
                 have_kernel = true;
                 img.has_kernel = true;  // even when its keys are wrong: reported there
                 img.kernel = kernel(v, p);
             }},
            {"volumes", [&](const YAML::Node& v, const std::string& p) {
                 if (v.IsNull()) return;
                 if (!v.IsSequence()) expected(v, p, "a list of volumes");
                 for (std::size_t i = 0; i < v.size(); ++i)
                     guarded([&] { img.volumes.push_back(volume(v[i], index_path(p, i))); });
             }},
            {"berth", [&](const YAML::Node& v, const std::string& p) { berth_settings(img, v, p); }},
            {"init", [&](const YAML::Node& v, const std::string& p) {
                 if (v.IsNull()) return;
                 if (!v.IsSequence()) expected(v, p, "a list of image references");
                 for (std::size_t i = 0; i < v.size(); ++i) {
                     std::string ip = index_path(p, i);
                     img.init.push_back(InitImage{image_ref(v[i], ip), pos(v[i])});
                 }
             }},
            {"onboot", [&](const YAML::Node& v, const std::string& p) {
                 img.onboot = container_list(v, p, Stage::onboot);
             }},
            {"onshutdown", [&](const YAML::Node& v, const std::string& p) {
                 img.onshutdown = container_list(v, p, Stage::onshutdown);
             }},
            {"services", [&](const YAML::Node& v, const std::string& p) {
                 img.services = container_list(v, p, Stage::services, &img.service_names);
             }},
            {"files", [&](const YAML::Node& v, const std::string& p) {
                 if (v.IsNull()) return;
                 if (!v.IsSequence()) expected(v, p, "a list of files");
                 std::map<std::string, SourcePos> seen;
                 for (std::size_t i = 0; i < v.size(); ++i)
                     guarded([&] {
                         FileSpec f = this->file(v[i], index_path(p, i));
                         auto [prev, ok] = seen.emplace(f.path, f.pos);
                         if (!ok)
                             fail(v[i], index_path(p, i),
                                  "duplicate file '" + f.path + "' (first at " + prev->second.str() + ")");
                         img.files.push_back(std::move(f));
                     });
             }},
            {"outputs", [&](const YAML::Node& v, const std::string& p) {
                 std::vector<std::string> outs =
                     v.IsScalar() ? std::vector<std::string>{v.Scalar()} : str_list(v, p);
                 for (const auto& o : outs)
                     if (!is_output_format(o)) {
                         std::string msg = "unknown output '" + o + "'";
                         if (auto best = closest_match(o, output_formats())) msg += "; did you mean '" + *best + "'?";
                         else {
                             msg += "; expected one of:";
                             for (const auto& f : output_formats()) msg += " " + f;
                         }
                         fail(v, p, msg);
                     }
                 img.outputs = outs;
             }},
            {"watchdog", [&](const YAML::Node& v, const std::string& p) { img.watchdog = watchdog(v, p); }},
            {"emergency", [&](const YAML::Node& v, const std::string& p) { img.emergency = emergency(v, p); }},
            {"update", [&](const YAML::Node& v, const std::string& p) { img.update = update(v, p); }},
            {"trust", [&](const YAML::Node&, const std::string&) {
                 log::warn("{}: 'trust' ignored (deprecated in LinuxKit)", key_pos.str());
             }},
        };
        if (!root.IsMap()) expected(root, "", "a map");
        // Each top-level key on its own, so that a collecting run reports every one.
        for (const auto& kv : root) {
            key_pos = pos(kv.first);
            YAML::Node single;
            single[kv.first] = kv.second;
            guarded([&] { walk_map(single, "", keys, kUnsupportedTop); });
        }
        guarded([&] { check_duplicate_keys(root); });
        if (!have_kernel && kernel_required) fail(root, "", "missing required key 'kernel'");
        return img;
    }

private:
    std::string file_;
    std::vector<YamlError>* problems_ = nullptr;
    mutable bool kernel_required_ = true;
};

}  // namespace

namespace {

YAML::Node load_yaml(const std::string& text, const std::string& file) {
    check_yaml_input(text, file);
    try {
        YAML::Node root = YAML::Load(text);
        resolve_merge_keys(root, file);
        return root;
    } catch (const YAML::Exception& e) {
        SourcePos p{file, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
        throw YamlError(p, "", "YAML syntax error: " + e.msg + block_scalar_comment_hint(text, p.line) +
                                   indentation_tab_hint(text, p.line));
    }
}

std::string directory_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// A relative path written in a file whose directory is `base`, made absolute so
// that it keeps its meaning in an image merged from files in several directories.
std::string anchored(const std::string& path, const std::string& base) {
    if (path.empty() || path[0] == '/') return path;
    return std::filesystem::absolute(fs::join(base, path)).lexically_normal().string();
}

bool explicit_relative(const std::string& s) { return s.rfind("./", 0) == 0 || s.rfind("../", 0) == 0; }

ImageSpec parse_one(const std::string& text, const std::string& file, const std::string& base_dir,
                    bool kernel_required, std::vector<YamlError>* problems) {
    ImageSpec img;
    img.file = file;
    img.base_dir = base_dir;
    YAML::Node root;
    try {
        root = load_yaml(text, file);
    } catch (const YamlError& e) {
        if (!problems) throw;
        problems->push_back(e);
        img.has_kernel = true;  // unknown: the file could not be read as YAML
        return img;
    }
    try {
        img = Parser(file, problems).image(root, file, base_dir, kernel_required);
    } catch (const YamlError& e) {
        if (!problems) throw;
        problems->push_back(e);
        // A file that is not a map has had its say: no "missing 'kernel'" on top.
        if (!root.IsMap()) img.has_kernel = true;
    }
    img.text = text;
    return img;
}

void merge_kernel(KernelSpec& into, const KernelSpec& from) {
    // As `linuxkit build` merges: a later image replaces the image, and each of
    // binary/tar/ucode a later file gives replaces that one key only. A Debian
    // package has none of those files: the earlier image's keys go with it.
    if (!from.package.empty()) {
        KernelSpec fresh;
        into.package = from.package;
        into.image.clear();
        into.binary = fresh.binary;
        into.tar = fresh.tar;
        into.ucode = fresh.ucode;
        into.image_keys.clear();
    } else if (!from.image.empty()) {
        into.package.clear();
        into.image = from.image;
        into.image_pos = from.image_pos;
    }
    for (const KernelSpec::ImageKey& key : from.image_keys) {
        if (key.name == "binary") into.binary = from.binary;
        if (key.name == "tar") into.tar = from.tar;
        if (key.name == "ucode") into.ucode = from.ucode;
        into.image_keys.push_back(key);
    }
    if (!from.cmdline.empty()) into.cmdline = from.cmdline;
    into.modules.insert(into.modules.end(), from.modules.begin(), from.modules.end());
    if (from.module_classes) into.module_classes = from.module_classes;
    into.modules_listed |= from.modules_listed;
    into.pos = from.pos;
}

void record(std::vector<YamlError>* problems, const YamlError& e) {
    if (!problems) throw e;
    problems->push_back(e);
}

}  // namespace

std::vector<std::string> shipped_module_classes(const KernelSpec& k) {
    if (k.module_classes) return *k.module_classes;
    return k.modules_listed ? std::vector<std::string>{} : default_module_classes();
}

std::string volume_path(const VolumeSpec& v) {
    // A read-write volume lives under /var, which PID 1 copies into a tmpfs at
    // boot: writable and shared by every container binding it. A read-only one
    // stays on the read-only root.
    return (v.readonly ? "/containers/volumes/" : "/var/lib/berth/volumes/") + v.name;
}

void finish_image(ImageSpec& img, std::vector<YamlError>* problems) {
    if (img.outputs.empty()) img.outputs = {"kernel+initrd"};

    // LinuxKit: service names must be unique (they run side by side); onboot and
    // onshutdown entries run one at a time from numbered directories and may repeat.
    std::map<std::string, const EntryName*> names;
    for (const EntryName& e : img.service_names) {
        auto [prev, ok] = names.emplace(e.name, &e);
        if (!ok)
            record(problems, YamlError(e.pos, "services[" + std::to_string(e.index) + "]",
                                       "duplicate service name '" + e.name + "' (first defined at " +
                                           prev->second->pos.str() + ")"));
    }
    // commitWhenReady names services of this image: a typo would roll back every update.
    if (img.update)
        for (const auto& n : img.update->commit_when_ready)
            if (!names.count(n))
                record(problems, YamlError(img.update->pos, "update.commitWhenReady",
                                           "'" + n + "' is not a service of this image"));
    std::map<std::string, VolumeSpec> volumes;
    for (VolumeSpec& v : img.volumes) {
        v.path = volume_path(v);
        auto [prev, ok] = volumes.emplace(v.name, v);
        if (!ok)
            record(problems, YamlError(v.pos, "volumes", "duplicate volume name '" + v.name + "' (first defined at " +
                                                             prev->second.pos.str() + ")"));
    }
    // LinuxKit allocates every container an id, in this order; a later entry of
    // the same name takes the name.
    std::map<std::string, std::uint32_t> ids;
    std::uint32_t next_id = 100;
    for (const auto* list : {&img.onboot, &img.onshutdown, &img.services})
        for (const ContainerSpec& c : *list) ids[c.name] = next_id++;
    for (FileSpec& f : img.files)
        for (auto [name, id] : {std::pair{&f.uid_name, &f.uid}, std::pair{&f.gid_name, &f.gid}}) {
            if (!*name) continue;
            if (**name == "root") *id = 0;
            else if (auto it = ids.find(**name); it != ids.end()) *id = it->second;
            else
                record(problems, YamlError(f.pos, "files", "'" + f.path + "': uid/gid '" + **name +
                                                               "' names no container of the image (a name stands "
                                                               "for the id LinuxKit allocates that container)"));
        }
    for (auto* list : {&img.onboot, &img.onshutdown, &img.services})
        for (ContainerSpec& c : *list) {
            c.container_ids = ids;
            c.strict = img.strict;
            if (!c.yaml_keys.contains("readonly")) c.readonly = img.strict;
            c.volumes = volumes;
            for (const Bind& b : c.binds) {
                try {
                    check_volume_bind(c, b);
                } catch (const YamlError& e) {
                    record(problems, e);
                }
            }
        }
}

void check_volume_bind(const ContainerSpec& c, const Bind& b) {
    if (b.volume.empty()) return;
    auto at = c.key_pos.find(b.key_path);
    SourcePos pos = at != c.key_pos.end() ? at->second : c.pos;
    std::string path = at != c.key_pos.end() ? b.key_path : std::string(stage_name(c.stage)) + "[" + std::to_string(c.index) + "]";
    auto v = c.volumes.find(b.volume);
    if (v == c.volumes.end()) {
        std::string msg = "bind source '" + b.volume + "' names no volume (define it under 'volumes:'";
        throw YamlError(pos, path, msg + ", or give an absolute path)");
    }
    if (v->second.readonly && std::find(b.options.begin(), b.options.end(), "ro") == b.options.end())
        throw YamlError(pos, path, "volume '" + b.volume + "' is read-only (" + v->second.pos.str() +
                                       "): bind it with ':ro'");
}

ImageSpec merge_images(std::vector<ImageSpec> parts) {
    if (parts.empty()) throw Error("no image description to merge", EINVAL);
    ImageSpec out = std::move(parts[0]);
    for (std::size_t i = 1; i < parts.size(); ++i) {
        ImageSpec& p = parts[i];
        bool same_dir = p.base_dir == out.base_dir;
        if (p.has_kernel) {
            if (!same_dir && explicit_relative(p.kernel.package)) p.kernel.package = anchored(p.kernel.package, p.base_dir);
            if (out.has_kernel) merge_kernel(out.kernel, p.kernel);
            else out.kernel = p.kernel;
            out.has_kernel = true;
        }
        auto append = [&](std::vector<ContainerSpec>& into, std::vector<ContainerSpec>& from) {
            for (ContainerSpec& c : from) {
                c.index = into.size();
                if (!same_dir && explicit_relative(c.image)) c.image = anchored(c.image, p.base_dir);
                into.push_back(std::move(c));
            }
        };
        append(out.onboot, p.onboot);
        append(out.onshutdown, p.onshutdown);
        append(out.services, p.services);
        const std::size_t names_before = out.service_names.size();
        for (EntryName& e : p.service_names) {
            e.index += names_before;
            out.service_names.push_back(std::move(e));
        }
        for (FileSpec& f : p.files) {
            if (!same_dir && f.source) f.source = anchored(*f.source, p.base_dir);
            out.files.push_back(std::move(f));
        }
        for (VolumeSpec& v : p.volumes) {
            if (!same_dir && explicit_relative(v.image)) v.image = anchored(v.image, p.base_dir);
            out.volumes.push_back(std::move(v));
        }
        if (!p.outputs.empty()) out.outputs = p.outputs;  // a scalar setting: the later file wins
        if (p.watchdog) out.watchdog = p.watchdog;
        if (p.emergency) out.emergency = p.emergency;
        if (p.data_partition) out.data_partition = p.data_partition;
        if (p.update) out.update = p.update;
        out.init.insert(out.init.end(), p.init.begin(), p.init.end());  // LinuxKit appends init images
        out.strict = out.strict || p.strict;
        out.verity = out.verity || p.verity;
        out.text += "---\n" + p.text;
    }
    return out;
}

ImageSpec parse_image_yaml(const std::string& text, const std::string& file, const std::string& base_dir) {
    ImageSpec img = parse_one(text, file, base_dir, true, nullptr);
    finish_image(img, nullptr);
    return img;
}

ImageSpec load_image_yaml(const std::string& path) {
    return parse_image_yaml(read_yaml_file(path), path, directory_of(path));
}

ImageSpec load_image_yamls(const std::vector<std::string>& paths, std::vector<YamlError>* problems) {
    std::vector<ImageSpec> parts;
    for (const auto& path : paths) {
        std::string text;
        try {
            text = read_yaml_file(path);
        } catch (const std::exception& e) {
            if (!problems) throw;
            // The problem is put at the file: its message need not name it again.
            std::string why = e.what();
            if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);
            problems->push_back(YamlError(SourcePos{path, 0, 0}, "", why));
            continue;
        }
        parts.push_back(parse_one(text, path, directory_of(path), false, problems));
    }
    if (parts.empty()) {
        if (problems && !problems->empty()) return ImageSpec{};
        throw Error("no image description given", EINVAL);
    }
    ImageSpec img = merge_images(std::move(parts));
    if (!img.has_kernel)
        record(problems, YamlError(SourcePos{paths.front(), 0, 0}, "",
                                   "missing required key 'kernel' (in none of the files)"));
    else if (img.kernel.package.empty() && img.kernel.image.empty() && !(problems && !problems->empty()))
        record(problems, YamlError(img.kernel.pos, "kernel", "missing required key 'image' (or 'package' or 'path')"));
    else if (!img.kernel.package.empty())
        for (const KernelSpec::ImageKey& key : img.kernel.image_keys)
            record(problems, YamlError(key.pos, key.path,
                                       "names a file in a kernel image, but the merged kernel is kernel.package/path '" +
                                           img.kernel.package + "' (it needs kernel.image)"));
    finish_image(img, problems);
    return img;
}

}  // namespace berth::builder
