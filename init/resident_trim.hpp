// PID 1's heap after boot: parsing the image's configuration and starting the
// containers leave free memory at the top of the heap; it goes back to the
// kernel once the boot is complete.
//
// PID 1 used to drop the clean read-only pages of its own executable here too
// (madvise(MADV_DONTNEED)). That lowered its VmRSS but not the machine's memory
// in use: the /init file stays in the initramfs either way, and the pages came
// back on the next use (docs/benchmarks.md has the figures). It was removed.
#pragma once

namespace berth::init {

// Trims the heap; returns the kB of resident set given back (VmRSS before -
// after, 0 when unknown); never throws.
long release_boot_memory();

}  // namespace berth::init
