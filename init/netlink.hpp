// Link configuration over rtnetlink.
#pragma once
#include <string>

namespace berth::init {

// Sets IFF_UP on the named link. Returns "" or the reason it failed.
std::string link_up(const std::string& ifname);

}  // namespace berth::init
