// Parsers for the small files PID 1 reads at boot. Pure functions: unit-tested.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::init {

// Kernel command line: "a=b c quiet" -> {a: b, c: "", quiet: ""}. Quotes group.
std::map<std::string, std::string> parse_cmdline(const std::string& text);

struct SysctlEntry {
    std::string key, value;
    int line = 0;
    bool ignore_failure = false;  // a leading '-' as in systemd-sysctl
};
struct ParseProblem { int line; std::string reason; };
// "net.ipv4.ip_forward = 1" lines; '#' and ';' comments. Problems are reported, not thrown.
std::vector<SysctlEntry> parse_sysctl(const std::string& text, std::vector<ParseProblem>& problems);
// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward" (also accepts '/' separators).
std::string sysctl_path(const std::string& key);

struct ModuleEntry {
    std::string path, params;
    int line = 0;
};
// /etc/berth/modules: "/lib/modules/V/kernel/x.ko [params]" per line, in load order.
std::vector<ModuleEntry> parse_module_list(const std::string& text, std::vector<ParseProblem>& problems);

// A hostname is valid per RFC 1123 labels, at most 64 bytes.
bool valid_hostname(const std::string& name);

}  // namespace berth::init
