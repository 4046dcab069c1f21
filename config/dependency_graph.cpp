#include "config/dependency_graph.hpp"

#include <algorithm>
#include <functional>

namespace berth::config {

std::vector<std::string> predecessors(const config::ServicePolicy& p) {
    std::vector<std::string> out = p.depends_on;
    out.insert(out.end(), p.waits_for.begin(), p.waits_for.end());
    out.insert(out.end(), p.after.begin(), p.after.end());
    return out;
}

std::map<std::string, std::string> check_dependencies(
    const std::map<std::string, const config::ServicePolicy*>& services) {
    std::map<std::string, std::string> errors;
    for (const auto& [name, p] : services) {
        auto rel = [&](const std::vector<std::string>& names, const char* key) {
            for (const auto& n : names)
                if (!services.count(n) && !errors.count(name))
                    errors[name] = "berth." + std::string(key) + ": unknown service \"" + n + "\"";
        };
        rel(p->depends_on, "dependsOn");
        rel(p->waits_for, "waitsFor");
        rel(p->after, "after");
    }
    // Depth-first search; a grey node met again closes a cycle, which is the
    // part of the stack from that node on.
    enum Color { white, grey, black };
    std::map<std::string, Color> color;
    std::vector<std::string> stack;
    std::function<void(const std::string&)> visit = [&](const std::string& n) {
        color[n] = grey;
        stack.push_back(n);
        for (const auto& m : predecessors(*services.at(n))) {
            if (!services.count(m)) continue;
            if (color[m] == grey) {
                auto from = std::find(stack.begin(), stack.end(), m);
                std::string cycle;
                for (auto it = from; it != stack.end(); ++it) cycle += *it + " -> ";
                cycle += m;
                for (auto it = from; it != stack.end(); ++it) errors[*it] = "dependency cycle: " + cycle;
            } else if (color[m] == white) {
                visit(m);
            }
        }
        stack.pop_back();
        color[n] = black;
    };
    for (const auto& [name, p] : services)
        if (color[name] == white) visit(name);
    return errors;
}

}  // namespace berth::config
