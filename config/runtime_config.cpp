#include "config/runtime_config.hpp"

#include <algorithm>
#include <cctype>

namespace berth::config {

using json = nlohmann::json;

namespace {

struct Problems {
    std::vector<std::string> list;
    void add(const std::string& path, const std::string& why) { list.push_back(path + ": " + why); }
};

std::vector<std::string> strings(const json& v, const std::string& path, Problems& p) {
    std::vector<std::string> out;
    if (v.is_null()) return out;
    if (!v.is_array()) {
        p.add(path, "expected a list of strings, got " + v.dump());
        return out;
    }
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i].is_string()) out.push_back(v[i].get<std::string>());
        else p.add(path + "[" + std::to_string(i) + "]", "expected a string, got " + v[i].dump());
    }
    return out;
}

RuntimeMount mount(const json& v, const std::string& path, Problems& p) {
    RuntimeMount m;
    if (!v.is_object()) {
        p.add(path, "expected a mount {destination, type, source, options}, got " + v.dump());
        return m;
    }
    auto text = [&](const char* key, std::string& out) {
        auto it = v.find(key);
        if (it == v.end() || it->is_null()) return;
        if (it->is_string()) out = it->get<std::string>();
        else p.add(path + "." + key, "expected a string, got " + it->dump());
    };
    text("destination", m.destination);
    text("type", m.type);
    text("source", m.source);
    if (auto it = v.find("options"); it != v.end()) m.options = strings(*it, path + ".options", p);
    if (m.destination.empty()) p.add(path + ".destination", "required");
    for (const auto& [k, x] : v.items())
        if (k != "destination" && k != "type" && k != "source" && k != "options")
            p.add(path + "." + k, "unknown key (expected destination, type, source, options)");
    return m;
}

std::map<std::string, std::string> bind_ns(const json& v, Problems& p) {
    std::map<std::string, std::string> out;
    if (v.is_null()) return out;
    if (!v.is_object()) {
        p.add("bindNS", "expected a map of namespace to path, got " + v.dump());
        return out;
    }
    const auto& types = bind_ns_types();
    for (const auto& [k, x] : v.items()) {
        std::string where = "bindNS." + k;
        if (std::find(types.begin(), types.end(), k) == types.end()) {
            p.add(where, "unknown namespace (expected cgroup, ipc, mnt, net, pid, user, uts)");
        } else if (!x.is_string()) {
            p.add(where, "expected a path, got " + x.dump());
        } else {
            const std::string& path = x.get_ref<const std::string&>();
            if (path.size() < 2 || path[0] != '/' || path.find("/../") != std::string::npos ||
                (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0))
                p.add(where, "\"" + path + "\" must be an absolute path without '..'");
            else
                out[k] = path;
        }
    }
    return out;
}

// The kernel's rule for a link name (dev_valid_name): 1..15 bytes, not "." or
// "..", no '/', ':' or white space. Checked here so that the build refuses
// what the boot would.
bool valid_link_name(const std::string& n) {
    if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
    return std::none_of(n.begin(), n.end(), [](char ch) {
        return ch == '/' || ch == ':' || std::isspace(static_cast<unsigned char>(ch));
    });
}

RuntimeInterface interface(const json& v, const std::string& path, Problems& p) {
    RuntimeInterface i;
    if (!v.is_object()) {
        p.add(path, "expected an interface {name, add, peer, createInRoot}, got " + v.dump());
        return i;
    }
    auto text = [&](const char* key, std::string& out) {
        auto it = v.find(key);
        if (it == v.end() || it->is_null()) return;
        if (it->is_string()) out = it->get<std::string>();
        else p.add(path + "." + key, "expected a string, got " + it->dump());
    };
    text("name", i.name);
    text("add", i.add);
    text("peer", i.peer);
    if (auto it = v.find("createInRoot"); it != v.end() && !it->is_null()) {
        if (it->is_boolean()) i.create_in_root = it->get<bool>();
        else p.add(path + ".createInRoot", "expected true or false, got " + it->dump());
    }
    for (const auto& [k, x] : v.items())
        if (k != "name" && k != "add" && k != "peer" && k != "createInRoot")
            p.add(path + "." + k, "unknown key (expected name, add, peer, createInRoot)");
    if (i.name.empty()) p.add(path + ".name", "required");
    else if (!valid_link_name(i.name))
        p.add(path + ".name", "\"" + i.name + "\" is not a network interface name (1 to 15 characters, no '/', ':' or space)");
    // As LinuxKit: a peer makes the entry a veth pair.
    if (!i.peer.empty() && i.add.empty()) i.add = "veth";
    if (i.add == "veth") {
        if (i.peer.empty()) p.add(path + ".peer", "required for a veth pair (the end left in the root namespace)");
        else if (!valid_link_name(i.peer))
            p.add(path + ".peer", "\"" + i.peer + "\" is not a network interface name (1 to 15 characters, no '/', ':' or space)");
        else if (i.peer == i.name)
            p.add(path + ".peer", "\"" + i.peer + "\" is also the interface's name; the two ends need their own names");
    } else if (!i.peer.empty()) {
        p.add(path + ".peer", "only a veth pair has a peer (this entry adds \"" + i.add + "\")");
    }
    if (!i.add.empty() && !std::all_of(i.add.begin(), i.add.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
        }))
        p.add(path + ".add", "\"" + i.add + "\" is not a link kind (veth, wireguard, dummy...)");
    return i;
}

}  // namespace

const std::vector<std::string>& bind_ns_types() {
    static const std::vector<std::string> types = {"cgroup", "ipc", "mnt", "net", "pid", "user", "uts"};
    return types;
}

RuntimeConfig parse_runtime_config(const json& doc, const std::string& source) {
    if (!doc.is_object()) throw ConfigError(source, {"expected an object"});
    RuntimeConfig c;
    Problems p;
    for (const auto& [key, v] : doc.items()) {
        if (key == "mounts") {
            if (v.is_null()) continue;
            if (!v.is_array()) {
                p.add("mounts", "expected a list");
                continue;
            }
            for (size_t i = 0; i < v.size(); ++i) c.mounts.push_back(mount(v[i], "mounts[" + std::to_string(i) + "]", p));
        } else if (key == "mkdir") {
            c.mkdir = strings(v, "mkdir", p);
        } else if (key == "cgroups") {
            c.cgroups = strings(v, "cgroups", p);
            for (size_t i = 0; i < c.cgroups.size(); ++i) {
                const std::string& g = c.cgroups[i];
                if (g.empty() || g[0] == '/' || g.find("..") != std::string::npos)
                    p.add("cgroups[" + std::to_string(i) + "]", "\"" + g + "\" must be a relative cgroup name");
            }
        } else if (key == "berth") {
            if (v.is_null()) continue;
            try {
                c.berth = parse_service_policy(v, source);
            } catch (const ConfigError& e) {
                p.list.insert(p.list.end(), e.problems().begin(), e.problems().end());
            }
        } else if (key == "bindNS") {
            c.bind_ns = bind_ns(v, p);
        } else if (key == "interfaces") {
            if (v.is_null()) continue;
            if (!v.is_array()) {
                p.add("interfaces", "expected a list of interfaces {name, add, peer, createInRoot}, got " + v.dump());
                continue;
            }
            for (size_t i = 0; i < v.size(); ++i)
                c.interfaces.push_back(interface(v[i], "interfaces[" + std::to_string(i) + "]", p));
        } else if (key == "namespace") {
            if (!v.is_null() && !v.empty()) p.add(key, "a LinuxKit key berth does not implement");
        } else {
            p.add(key, "unknown key (expected mounts, mkdir, cgroups, interfaces, bindNS, berth)");
        }
    }
    if (!p.list.empty()) throw ConfigError(source, p.list);
    return c;
}

json to_json(const RuntimeConfig& c) {
    json doc = json::object();
    if (!c.mounts.empty()) {
        json ms = json::array();
        for (const auto& m : c.mounts) {
            json o = {{"destination", m.destination}};
            if (!m.type.empty()) o["type"] = m.type;
            if (!m.source.empty()) o["source"] = m.source;
            o["options"] = m.options;
            ms.push_back(o);
        }
        doc["mounts"] = ms;
    }
    if (!c.mkdir.empty()) doc["mkdir"] = c.mkdir;
    if (!c.cgroups.empty()) doc["cgroups"] = c.cgroups;
    if (!c.bind_ns.empty()) doc["bindNS"] = c.bind_ns;
    if (!c.interfaces.empty()) {
        json list = json::array();
        for (const auto& i : c.interfaces) {
            json o = {{"name", i.name}};
            if (!i.add.empty()) o["add"] = i.add;
            if (!i.peer.empty()) o["peer"] = i.peer;
            if (i.create_in_root) o["createInRoot"] = true;
            list.push_back(o);
        }
        doc["interfaces"] = list;
    }
    json policy = to_json(c.berth);
    if (!policy.empty()) doc["berth"] = policy;
    return doc;
}

}  // namespace berth::config
