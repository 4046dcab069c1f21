// PID 1 loads seccomp filters; it never prints one as text
// (seccomp_export_pfc). libseccomp's api.o refers to the text generator all
// the same, and the archive member that defines it uses stdio streams
// (fdopen, fclose), which bring glibc's iconv converters and transliteration
// tables into a static binary. Defining the generator here keeps that member
// out of PID 1's link; seccomp_export_pfc in PID 1 fails with EOPNOTSUPP.
#include <cerrno>

struct db_filter_col;

extern "C" int gen_pfc_generate(const db_filter_col*, int) { return -EOPNOTSUPP; }
