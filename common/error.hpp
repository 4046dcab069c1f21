// Errors carry the errno (0 when not a system error) and a context chain,
// in the manner of crun's libcrun_error: "mount `/proc`: Operation not permitted".
#pragma once
#include <cerrno>
#include <stdexcept>
#include <string>

namespace berth {

class Error : public std::runtime_error {
public:
    Error(std::string message, int err = 0);
    int code() const noexcept { return errno_; }

private:
    int errno_;
};

// Throws Error("<context>: <strerror(errno)>") using the current errno.
[[noreturn]] void throw_errno(const std::string& context);
[[noreturn]] void throw_errno(const std::string& context, int err);

// Wraps the message of whatever is thrown by f with a leading context.
template <class F>
auto with_context(const std::string& context, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Error& e) {
        throw Error(context + ": " + e.what(), e.code());
    } catch (const std::exception& e) {
        throw Error(context + ": " + e.what());
    }
}

}  // namespace berth
