// The services' relations (dependsOn: hard, waitsFor: soft, after: ordering
// only) checked before anything starts: unknown names and cycles fail the
// services involved, with the cycle printed.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "config/service_policy.hpp"

namespace berth::config {

// Every service this one must wait for, whatever the relation.
std::vector<std::string> predecessors(const config::ServicePolicy& p);

// name -> error, for each service with an unknown name among its relations or
// on a cycle ("dependency cycle: a -> b -> a").
std::map<std::string, std::string> check_dependencies(const std::map<std::string, const config::ServicePolicy*>& services);

}  // namespace berth::config
