// Message catalogues for the static PID 1: it never calls setlocale(), so its
// locale is always "C", where glibc's gettext returns the message it is given.
// glibc's strerror() and libstdc++'s exception messages still call gettext,
// and in a static binary glibc's version brings the whole catalogue machinery
// along (locale loading, locale.alias parsing with stdio, the character set
// converters' setup): about 40 KB of PID 1 that can only ever return its
// argument here. These definitions return it directly; nothing in PID 1
// reaches glibc's catalogue code any more, and --gc-sections drops it.
extern "C" {

char* __dcgettext(const char*, const char* msgid, int) noexcept { return const_cast<char*>(msgid); }

char* dcgettext(const char* domain, const char* msgid, int category) noexcept {
    return __dcgettext(domain, msgid, category);
}

char* __gettext(const char* msgid) noexcept { return const_cast<char*>(msgid); }

char* gettext(const char* msgid) noexcept { return __gettext(msgid); }
}
