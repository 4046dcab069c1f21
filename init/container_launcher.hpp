// The supervisor's Launcher backed by the OCI runtime: bundle -> process.
#pragma once
#include "supervisor/supervisor.hpp"

namespace berth::init {

class RuntimeLauncher final : public supervisor::Launcher {
public:
    void start(supervisor::Container& c) override;
};

}  // namespace berth::init
