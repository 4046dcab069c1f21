// std::terminate's handler for the static PID 1 binary. libstdc++'s default
// handler demangles the exception's type name, and the demangler is about
// 50 KB of PID 1. Defining the handler variable here keeps the archive member
// that sets the default (and with it the demangler) out of the link. The
// message keeps what matters: the (mangled) type and what().
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

namespace __cxxabiv1 {
// libstdc++'s own definition (eh_term_handler.o) names the verbose handler.
std::terminate_handler __terminate_handler = report_and_abort;
}  // namespace __cxxabiv1
