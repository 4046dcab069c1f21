// The helper that carries out one ContainerDevices change in a running
// container (container_devices.hpp): forked from PID 1, it rebuilds the
// container's BPF device program from its config.json and the devices it is to
// have, puts it in place of the old one in one step, then enters the
// container's mount namespace through its pidfd and makes or removes the nodes.
#pragma once
#include <sys/types.h>

#include "init/container_devices.hpp"

namespace berth::init {

// Forks the helper; returns its pid (PID 1 reaps it) or -errno. Never blocks.
pid_t spawn_device_grant(const DeviceGrantJob& job);

}  // namespace berth::init
