#pragma once

namespace berth::init {
// PID 1's whole life: early boot, containers, shutdown. Never returns.
[[noreturn]] void pid1_main();
}
