#include "common/error.hpp"

#include <cstring>

namespace berth {

Error::Error(std::string message, int err) : std::runtime_error(std::move(message)), errno_(err) {}

void throw_errno(const std::string& context) { throw_errno(context, errno); }

void throw_errno(const std::string& context, int err) {
    throw Error(context + ": " + std::strerror(err), err);
}

}  // namespace berth
