// config.json from the typed model: the inverse of oci_spec.cpp's parser, one
// function per spec object, in the same order as the parse functions. Optional
// fields are written when set, lists when not empty (the ones the spec
// requires always), so that parse_spec(spec_to_json(s)) == s.
#include <nlohmann/json.hpp>

#include "config/oci_names.hpp"
#include "config/oci_spec.hpp"

namespace berth::oci {

using json = nlohmann::json;

namespace {

template <class T>
void opt(json& o, const char* key, const std::optional<T>& v) {
    if (v) o[key] = *v;
}
void text(json& o, const char* key, const std::string& v) {
    if (!v.empty()) o[key] = v;
}
template <class T>
void list(json& o, const char* key, const std::vector<T>& v) {
    if (!v.empty()) o[key] = v;
}
template <class T, class F>
json array(const std::vector<T>& items, F&& one) {
    json a = json::array();
    for (const auto& x : items) a.push_back(one(x));
    return a;
}

json id_mapping(const IdMapping& m) {
    return {{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}

// A mount's mappings are written unless they come from an option
// ("idmap=uids=...") or, for a bare "idmap", from linux.uidMappings.
json mount(const Mount& m, const Linux& l) {
    json o = {{"destination", m.destination}, {"options", m.options}};
    text(o, "type", m.type);
    text(o, "source", m.source);
    bool from_option = false, bare = false;
    for (const auto& opt : m.options) {
        bool idmap = opt.rfind("idmap", 0) == 0 || opt.rfind("ridmap", 0) == 0;
        if (!idmap) continue;
        std::string rest = opt.substr(opt[0] == 'r' ? 6 : 5);
        if (!rest.empty() && rest[0] != '=') continue;
        if (rest.empty()) bare = true;
        else from_option = true;
    }
    bool derived = bare && m.uid_mappings == l.uid_mappings && m.gid_mappings == l.gid_mappings;
    if (!from_option && !derived) {
        if (!m.uid_mappings.empty()) o["uidMappings"] = array(m.uid_mappings, id_mapping);
        if (!m.gid_mappings.empty()) o["gidMappings"] = array(m.gid_mappings, id_mapping);
    }
    return o;
}

json caps(const std::vector<int>& numbers) {
    json a = json::array();
    for (int c : numbers) a.push_back(std::string(capability_name(c)));
    return a;
}

json process(const Process& p) {
    json o = {{"terminal", p.terminal}, {"args", p.args}, {"cwd", p.cwd}, {"noNewPrivileges", p.no_new_privileges}};
    if (p.console_size) o["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
    json user = {{"uid", p.user.uid}, {"gid", p.user.gid}};
    opt(user, "umask", p.user.umask);
    list(user, "additionalGids", p.user.additional_gids);
    text(user, "username", p.user.username);
    o["user"] = user;
    list(o, "env", p.env);
    if (p.capabilities)
        o["capabilities"] = {{"bounding", caps(p.capabilities->bounding)},
                             {"effective", caps(p.capabilities->effective)},
                             {"inheritable", caps(p.capabilities->inheritable)},
                             {"permitted", caps(p.capabilities->permitted)},
                             {"ambient", caps(p.capabilities->ambient)}};
    if (!p.rlimits.empty())
        o["rlimits"] = array(p.rlimits, [](const Rlimit& r) {
            return json{{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}};
        });
    opt(o, "oomScoreAdj", p.oom_score_adj);
    if (p.io_priority) o["ioPriority"] = {{"class", p.io_priority->class_name}, {"priority", p.io_priority->priority}};
    if (const auto& s = p.scheduler) {
        json j = {{"policy", s->policy_name}};
        if (s->nice) j["nice"] = s->nice;
        if (s->priority) j["priority"] = s->priority;
        list(j, "flags", s->flags);
        if (s->runtime) j["runtime"] = s->runtime;
        if (s->deadline) j["deadline"] = s->deadline;
        if (s->period) j["period"] = s->period;
        o["scheduler"] = j;
    }
    if (p.exec_cpu_affinity) {
        json a = json::object();
        text(a, "initial", p.exec_cpu_affinity->initial.text);
        text(a, "final", p.exec_cpu_affinity->final.text);
        o["execCPUAffinity"] = a;
    }
    text(o, "apparmorProfile", p.apparmor_profile);
    text(o, "selinuxLabel", p.selinux_label);
    return o;
}

json block_devices(const std::vector<BlockIODevice>& ds, bool throttle) {
    return array(ds, [throttle](const BlockIODevice& d) {
        json o = {{"major", d.major}, {"minor", d.minor}};
        if (throttle) {
            o["rate"] = d.rate;
        } else {
            opt(o, "weight", d.weight);
            opt(o, "leafWeight", d.leaf_weight);
        }
        return o;
    });
}

json resources(const Resources& r) {
    json o = json::object();
    if (const auto& m = r.memory) {
        json j = json::object();
        opt(j, "limit", m->limit);
        opt(j, "reservation", m->reservation);
        opt(j, "swap", m->swap);
        opt(j, "swappiness", m->swappiness);
        if (m->disable_oom_killer) j["disableOOMKiller"] = true;
        o["memory"] = j;
    }
    if (const auto& c = r.cpu) {
        json j = json::object();
        opt(j, "shares", c->shares);
        opt(j, "quota", c->quota);
        opt(j, "period", c->period);
        text(j, "cpus", c->cpus);
        text(j, "mems", c->mems);
        opt(j, "burst", c->burst);
        opt(j, "idle", c->idle);
        opt(j, "realtimeRuntime", c->realtime_runtime);
        opt(j, "realtimePeriod", c->realtime_period);
        o["cpu"] = j;
    }
    if (r.pids) o["pids"] = {{"limit", r.pids->limit}};
    if (!r.devices.empty())
        o["devices"] = array(r.devices, [](const DeviceRule& d) {
            json j = {{"allow", d.allow}, {"type", std::string(1, d.type)}, {"access", d.access}};
            opt(j, "major", d.major);
            opt(j, "minor", d.minor);
            return j;
        });
    if (const auto& b = r.block_io) {
        json j = json::object();
        opt(j, "weight", b->weight);
        opt(j, "leafWeight", b->leaf_weight);
        if (!b->weight_device.empty()) j["weightDevice"] = block_devices(b->weight_device, false);
        if (!b->throttle_read_bps.empty()) j["throttleReadBpsDevice"] = block_devices(b->throttle_read_bps, true);
        if (!b->throttle_write_bps.empty()) j["throttleWriteBpsDevice"] = block_devices(b->throttle_write_bps, true);
        if (!b->throttle_read_iops.empty()) j["throttleReadIOPSDevice"] = block_devices(b->throttle_read_iops, true);
        if (!b->throttle_write_iops.empty())
            j["throttleWriteIOPSDevice"] = block_devices(b->throttle_write_iops, true);
        o["blockIO"] = j;
    }
    if (!r.hugepage_limits.empty())
        o["hugepageLimits"] = array(r.hugepage_limits, [](const HugepageLimit& h) {
            return json{{"pageSize", h.page_size}, {"limit", h.limit}};
        });
    if (!r.unified.empty()) o["unified"] = r.unified;
    if (const auto& n = r.network) {
        json j = json::object();
        opt(j, "classID", n->class_id);
        if (!n->priorities.empty())
            j["priorities"] = array(n->priorities, [](const std::pair<std::string, std::uint32_t>& p) {
                return json{{"name", p.first}, {"priority", p.second}};
            });
        o["network"] = j;
    }
    return o;
}

json seccomp(const Seccomp& s) {
    json o = {{"defaultAction", std::string(seccomp_action_name(s.default_action))}};
    opt(o, "defaultErrnoRet", s.default_errno_ret);
    list(o, "architectures", s.architectures);
    list(o, "flags", s.flags);
    if (!s.syscalls.empty())
        o["syscalls"] = array(s.syscalls, [](const SeccompRule& r) {
            json j = {{"names", r.names}, {"action", std::string(seccomp_action_name(r.action))}};
            opt(j, "errnoRet", r.errno_ret);
            if (!r.args.empty())
                j["args"] = array(r.args, [](const SeccompArg& a) {
                    json x = {{"index", a.index}, {"value", a.value}, {"op", std::string(seccomp_op_name(a.op))}};
                    if (a.value_two || a.op == SeccompOp::masked_eq) x["valueTwo"] = a.value_two;  // the mask's operand
                    return x;
                });
            return j;
        });
    return o;
}

json linux_object(const Linux& l) {
    json o = {{"maskedPaths", l.masked_paths}, {"readonlyPaths", l.readonly_paths}};
    o["namespaces"] = array(l.namespaces, [](const Namespace& n) {
        json j = {{"type", std::string(namespace_name(n.type))}};
        text(j, "path", n.path);
        return j;
    });
    if (!l.uid_mappings.empty()) o["uidMappings"] = array(l.uid_mappings, id_mapping);
    if (!l.gid_mappings.empty()) o["gidMappings"] = array(l.gid_mappings, id_mapping);
    text(o, "cgroupsPath", l.cgroups_path);
    if (l.resources) o["resources"] = resources(*l.resources);
    if (!l.sysctl.empty()) o["sysctl"] = l.sysctl;
    text(o, "rootfsPropagation", l.rootfs_propagation);
    if (l.seccomp) o["seccomp"] = seccomp(*l.seccomp);
    if (l.personality) o["personality"] = {{"domain", l.personality->domain}};
    if (!l.devices.empty())
        o["devices"] = array(l.devices, [](const Device& d) {
            json j = {{"type", std::string(1, d.type)}, {"path", d.path}, {"major", d.major}, {"minor", d.minor}};
            opt(j, "fileMode", d.file_mode);
            opt(j, "uid", d.uid);
            opt(j, "gid", d.gid);
            return j;
        });
    if (!l.time_offsets.empty()) {
        json t = json::object();
        for (const auto& [clock, off] : l.time_offsets) t[clock] = {{"secs", off.secs}, {"nanosecs", off.nanosecs}};
        o["timeOffsets"] = t;
    }
    if (const auto& m = l.memory_policy) {
        json j = {{"mode", m->mode_name}};
        text(j, "nodes", m->nodes.text);
        list(j, "flags", m->flags);
        o["memoryPolicy"] = j;
    }
    text(o, "mountLabel", l.mount_label);
    return o;
}

json hooks(const Hooks& h) {
    json o = json::object();
    auto add = [&](const char* key, const std::vector<Hook>& list) {
        if (list.empty()) return;
        o[key] = array(list, [](const Hook& k) {
            json j = {{"path", k.path}};
            if (!k.args.empty()) j["args"] = k.args;
            if (!k.env.empty()) j["env"] = k.env;
            opt(j, "timeout", k.timeout);
            return j;
        });
    };
    add("prestart", h.prestart);
    add("createRuntime", h.create_runtime);
    add("createContainer", h.create_container);
    add("startContainer", h.start_container);
    add("poststart", h.poststart);
    add("poststop", h.poststop);
    return o;
}

}  // namespace

bool Spec::operator==(const Spec& o) const {
    return oci_version == o.oci_version && root == o.root && mounts == o.mounts && process == o.process &&
           hostname == o.hostname && domainname == o.domainname && annotations == o.annotations &&
           hooks == o.hooks && linux_ == o.linux_;
}

json spec_to_json(const Spec& s) {
    json o = {{"ociVersion", s.oci_version},
              {"root", {{"path", s.root.path}, {"readonly", s.root.readonly}}},
              {"process", process(s.process)},
              {"linux", linux_object(s.linux_)}};
    o["mounts"] = array(s.mounts, [&](const Mount& m) { return mount(m, s.linux_); });
    text(o, "hostname", s.hostname);
    text(o, "domainname", s.domainname);
    if (!s.annotations.empty()) o["annotations"] = s.annotations;
    json h = hooks(s.hooks);
    if (!h.empty()) o["hooks"] = h;
    return o;
}

}  // namespace berth::oci
