// std::terminate's handler and assert(3)'s failure path for the static PID 1
// binary; both only report and abort. libstdc++'s default terminate
// handler demangles the exception's type name, and the demangler is about
// 50 KB of PID 1. Defining the handler variable here keeps the archive member
// that sets the default (and with it the demangler) out of the link. The
// message keeps what matters: the (mangled) type and what(). glibc's
// __assert_fail (called by libseccomp's asserts) formats through gettext and
// the wide-character printf; defining it here keeps assert.o, and with it
// about 10 KB of wide printf, out of the link.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <typeinfo>

#include <cxxabi.h>

namespace {

void write_text(const char* s) {
    size_t n = std::strlen(s);
    while (n > 0) {
        ssize_t w = ::write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= size_t(w);
    }
}

[[noreturn]] void report_and_abort() {
    static bool terminating = false;
    if (terminating) std::abort();  // a throw from what() below
    terminating = true;
    write_text("berth: terminate called");
    if (const std::type_info* type = abi::__cxa_current_exception_type()) {
        write_text(" after throwing an instance of '");
        write_text(type->name());
        write_text("'");
        try {
            throw;
        } catch (const std::exception& e) {
            write_text(": ");
            write_text(e.what());
        } catch (...) {
        }
    }
    write_text("\n");
    std::abort();
}

}  // namespace

extern "C" [[noreturn]] void __assert_fail(const char* assertion, const char* file, unsigned int line,
                                           const char* function) noexcept {
    char number[16];
    int at = int(sizeof number);
    number[--at] = '\0';
    do number[--at] = char('0' + line % 10);
    while ((line /= 10) != 0 && at > 0);
    write_text("berth: assertion failed: ");
    write_text(assertion);
    write_text(" (");
    write_text(file);
    write_text(":");
    write_text(number + at);
    write_text(", ");
    write_text(function ? function : "?");
    write_text(")\n");
    std::abort();
}

namespace __cxxabiv1 {
// libstdc++'s own definition (eh_term_handler.o) names the verbose handler.
std::terminate_handler __terminate_handler = report_and_abort;
}  // namespace __cxxabiv1
