#include "builder/uki.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "builder/initrd_writer.hpp"
#include "builder/process.hpp"
#include "builder/arch.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::builder {

namespace {

constexpr std::uint64_t kPage = 4096;

std::uint32_t le32(const std::string& b, std::size_t at) {
    return std::uint32_t(std::uint8_t(b[at])) | std::uint32_t(std::uint8_t(b[at + 1])) << 8 |
           std::uint32_t(std::uint8_t(b[at + 2])) << 16 | std::uint32_t(std::uint8_t(b[at + 3])) << 24;
}
std::uint16_t le16(const std::string& b, std::size_t at) {
    return std::uint16_t(std::uint8_t(b[at]) | std::uint8_t(b[at + 1]) << 8);
}
void put32(std::string& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + std::size_t(i)] = char((v >> (8 * i)) & 0xff);
}

std::uint64_t align_up(std::uint64_t n, std::uint64_t unit) { return (n + unit - 1) / unit * unit; }

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// Runs a tool of the output; a missing tool names its package.
void uki_tool(const std::vector<std::string>& argv, const std::string& package) {
    ProcessResult r;
    try {
        r = run_process(argv);
    } catch (const Error& e) {
        throw Error(std::string("uki: ") + e.what() + " (apt-get install " + package + ")", e.code());
    }
    if (r.exit_code != 0)
        throw Error("uki: `" + quote_command(argv) + "` failed (exit " + std::to_string(r.exit_code) +
                        "): " + fs::trim(r.err.empty() ? r.out : r.err),
                    EIO);
}

// Removes the staging directory however the output ends.
struct Stage {
    std::string path;
    explicit Stage(std::string p) : path(std::move(p)) {
        run_checked({"rm", "-rf", "--", path});
        fs::mkdir_p(path);
    }
    ~Stage() {
        try {
            run_process({"rm", "-rf", "--", path});
        } catch (...) {
        }
    }
    Stage(const Stage&) = delete;
    Stage& operator=(const Stage&) = delete;
};

}  // namespace

PeLayout read_pe_layout(const std::string& b, const std::string& what) {
    auto bad = [&](const std::string& why) { return Error("`" + what + "` is not a PE image: " + why, EINVAL); };
    if (b.size() < 0x40 || b.compare(0, 2, "MZ") != 0) throw bad("no MZ header");
    std::size_t pe = le32(b, 0x3c);
    if (pe > b.size() || b.size() - pe < 24 || b.compare(pe, 4, std::string("PE\0\0", 4)) != 0)
        throw bad("no PE signature");
    PeLayout l;
    std::size_t coff = pe + 4;
    std::uint16_t nsections = le16(b, coff + 2);
    l.timestamp_offset = coff + 4;
    l.timestamp = le32(b, coff + 4);
    std::uint16_t opt_size = le16(b, coff + 16);
    std::size_t opt = coff + 20;
    if (opt_size < 68 || b.size() < opt + opt_size) throw bad("optional header truncated");
    std::uint16_t magic = le16(b, opt);
    if (magic != 0x20b && magic != 0x10b) throw bad("unknown optional header magic " + hex(magic));
    // The same offsets in PE32 and PE32+.
    l.section_alignment = le32(b, opt + 32);
    l.file_alignment = le32(b, opt + 36);
    l.size_of_image = le32(b, opt + 56);
    l.checksum_offset = opt + 64;
    l.checksum = le32(b, opt + 64);
    if (l.section_alignment == 0 || (l.section_alignment & (l.section_alignment - 1)) != 0)
        throw bad("section alignment " + hex(l.section_alignment) + " is not a power of two");
    std::size_t table = opt + opt_size;
    if (b.size() < table + std::size_t(nsections) * 40) throw bad("section table truncated");
    for (std::size_t i = 0; i < nsections; ++i) {
        std::size_t s = table + i * 40;
        PeSection sec;
        sec.name = b.substr(s, 8);
        sec.name.resize(std::min(sec.name.find('\0'), sec.name.size()));
        sec.virtual_size = le32(b, s + 8);
        sec.virtual_address = le32(b, s + 12);
        sec.raw_size = le32(b, s + 16);
        sec.raw_offset = le32(b, s + 20);
        l.sections.push_back(sec);
    }
    return l;
}

std::uint64_t pe_image_end(const PeLayout& pe) {
    std::uint64_t end = pe.size_of_image;
    for (const auto& s : pe.sections)
        end = std::max(end, std::uint64_t(s.virtual_address) + std::max(s.virtual_size, s.raw_size));
    return end;
}

std::vector<PlacedSection> place_sections(const PeLayout& stub,
                                          const std::vector<std::pair<std::string, std::uint64_t>>& sizes) {
    std::uint64_t align = std::max<std::uint64_t>(stub.section_alignment, kPage);
    std::uint64_t at = align_up(pe_image_end(stub), align);
    std::vector<PlacedSection> out;
    for (const auto& [name, size] : sizes) {
        if (name.size() > 8) throw Error("uki: section name `" + name + "` is longer than 8 bytes", EINVAL);
        out.push_back({name, at, size});
        at = align_up(at + std::max<std::uint64_t>(size, 1), align);
    }
    // The addresses are 32-bit RVAs in the PE format.
    if (at > 0xffffffffull) throw Error("uki: the image would be larger than 4 GiB", EFBIG);
    return out;
}

std::uint32_t pe_checksum(const std::string& b, std::size_t checksum_offset) {
    // The checksum field's four bytes count as zeros, wherever it lies.
    auto byte = [&](std::size_t i) -> std::uint32_t {
        return i >= checksum_offset && i < checksum_offset + 4 ? 0 : std::uint8_t(b[i]);
    };
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < b.size(); i += 2) {
        std::uint32_t word = byte(i);
        if (i + 1 < b.size()) word |= byte(i + 1) << 8;
        sum += word;
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    return std::uint32_t(sum + b.size());
}

void set_pe_timestamp(std::string& b, std::uint32_t timestamp) {
    PeLayout l = read_pe_layout(b, "uki");
    put32(b, l.timestamp_offset, timestamp);
    put32(b, l.checksum_offset, pe_checksum(b, l.checksum_offset));
}

std::string uki_os_release(const std::string& name, const std::string& pretty) {
    // os-release values: quoted, so any image name is one value.
    auto quote = [](const std::string& v) {
        std::string q;
        for (char c : v) {
            if (c == '"' || c == '\\' || c == '$' || c == '`') q += '\\';
            if (c != '\n') q += c;
        }
        return q;
    };
    return "NAME=\"berth\"\nID=berth\nPRETTY_NAME=\"" + (pretty.empty() ? "berth image " + quote(name) : quote(pretty)) +
           "\"\nIMAGE_ID=\"" + quote(name) + "\"\n";
}

void check_signing_key(const SigningKey& k) {
    for (const auto& [opt, path] : {std::pair{"--sign-key", k.key}, std::pair{"--sign-cert", k.cert}}) {
        if (path.empty()) throw Error(std::string(opt) + ": no file given (signing needs both --sign-key and --sign-cert)", EINVAL);
        fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) throw_errno(std::string(opt) + ": cannot read `" + path + "`");
    }
    std::string key = fs::read_file(k.key), cert = fs::read_file(k.cert);
    if (key.find("-----BEGIN ") == std::string::npos || key.find("PRIVATE KEY-----") == std::string::npos)
        throw Error("--sign-key: `" + k.key + "` is not a PEM private key", EINVAL);
    if (key.find("ENCRYPTED") != std::string::npos)
        throw Error("--sign-key: `" + k.key + "` is encrypted; sbsign runs without a terminal to ask for the "
                    "passphrase: give a decrypted copy (openssl pkey -in KEY -out PLAIN.key)",
                    EINVAL);
    if (cert.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        throw Error("--sign-cert: `" + k.cert + "` is not a PEM certificate", EINVAL);
}

void sign_efi(const std::string& in, const std::string& out, const SigningKey& k) {
    check_signing_key(k);
    uki_tool({"sbsign", "--key", k.key, "--cert", k.cert, "--output", out, in}, "sbsigntool");
    // The signature must verify against the certificate the firmware will hold.
    uki_tool({"sbverify", "--cert", k.cert, out}, "sbsigntool");
}

std::uint64_t write_uki(const UkiParts& p, const std::string& out, std::int64_t mtime,
                        const std::optional<SigningKey>& key) {
    if (!fs::exists(p.stub))
        throw Error("uki: `" + p.stub + "` is missing (apt-get install systemd-boot-efi)", ENOENT);
    Stage stage(out + ".d");
    // Files for objcopy, in the order of the image: the small ones first, the
    // kernel last (its decompressor may need room past its section; the stub's
    // x86 handover lets it relocate itself, and nothing follows it).
    std::vector<std::pair<std::string, std::string>> files;  // section -> file
    auto text = [&](const std::string& section, const std::string& data) {
        std::string f = stage.path + "/" + section.substr(1);
        fs::write_file(f, data, 0644);
        files.push_back({section, f});
    };
    text(".osrel", p.osrel);
    check_cmdline_length(p.cmdline, "the unified kernel image's command line");
    text(".cmdline", p.cmdline);
    if (!p.uname.empty()) text(".uname", p.uname);
    files.push_back({".initrd", p.initrd});
    files.push_back({".linux", p.kernel});

    PeLayout stub = read_pe_layout(fs::read_file(p.stub), p.stub);
    std::vector<std::pair<std::string, std::uint64_t>> sizes;
    for (const auto& [section, f] : files) sizes.push_back({section, fs::file_size(f)});
    std::vector<PlacedSection> placed = place_sections(stub, sizes);

    std::string unsigned_image = stage.path + "/unsigned.efi";
    std::vector<std::string> argv = {"objcopy"};
    for (std::size_t i = 0; i < files.size(); ++i) {
        argv.push_back("--add-section");
        argv.push_back(files[i].first + "=" + files[i].second);
        argv.push_back("--change-section-vma");
        argv.push_back(files[i].first + "=" + hex(placed[i].address));
    }
    argv.push_back(p.stub);
    argv.push_back(unsigned_image);
    uki_tool(argv, "binutils");

    // objcopy stamps the wall clock into the COFF header: the build's time instead.
    std::string image = fs::read_file(unsigned_image);
    set_pe_timestamp(image, std::uint32_t(std::clamp<std::int64_t>(mtime, 0, 0xffffffff)));
    // What objcopy wrote must be what was asked: every section where it was placed.
    PeLayout made = read_pe_layout(image, unsigned_image);
    for (const auto& want : placed) {
        auto it = std::find_if(made.sections.begin(), made.sections.end(),
                               [&](const PeSection& s) { return s.name == want.name; });
        if (it == made.sections.end() || it->virtual_address != want.address || it->virtual_size < want.size)
            throw Error("uki: objcopy did not place " + want.name + " at " + hex(want.address), EIO);
    }
    fs::write_file(unsigned_image, image, 0644);

    std::string tmp = out + ".tmp";
    if (key) {
        ::unlink(tmp.c_str());
        try {
            sign_efi(unsigned_image, tmp, *key);
        } catch (...) {
            ::unlink(tmp.c_str());  // a signature that does not verify is never left behind
            throw;
        }
    } else if (::rename(unsigned_image.c_str(), tmp.c_str()) < 0) {
        throw_errno("rename `" + unsigned_image + "` to `" + tmp + "`");
    }
    fs::set_mtime(tmp, mtime);
    if (::rename(tmp.c_str(), out.c_str()) < 0) throw_errno("rename `" + tmp + "` to `" + out + "`");
    return fs::file_size(out);
}

std::vector<OutputFile> write_uki_output(const Tree& tree, const OutputOptions& o) {
    std::string out = o.prefix + ".efi";
    UkiParts p;
    p.stub = o.uki_stub;
    p.kernel = o.kernel_image;
    p.osrel = uki_os_release(o.name.empty() ? o.prefix.substr(o.prefix.rfind('/') + 1) : o.name);
    p.uname = o.kernel_version;
    std::string own_initrd = o.prefix + ".efi-initrd.tmp";
    std::uint64_t raw = 0;
    if (o.boot_tree) {
        // The squashfs output of this build, written before: its initrd and its
        // command line, which carries the root hash when the root is verified.
        p.initrd = o.prefix + "-squashfs-initrd.img";
        std::string cmdline = o.prefix + "-cmdline";
        if (!fs::exists(p.initrd) || !fs::exists(cmdline))
            throw Error("uki: the kernel+squashfs output is not written yet (internal error)", EINVAL);
        p.cmdline = fs::trim(fs::read_file(cmdline));
    } else {
        CpioOptions copts;
        copts.mtime = o.mtime;
        copts.zstd = o.compression == "zstd";
        raw = write_cpio(tree, own_initrd, copts).uncompressed_bytes;
        p.initrd = own_initrd;
        p.cmdline = o.cmdline;
    }
    std::optional<SigningKey> key;
    if (!o.signing_key.empty() || !o.signing_cert.empty()) key = SigningKey{o.signing_key, o.signing_cert};
    std::uint64_t bytes;
    try {
        bytes = write_uki(p, out, o.mtime, key);
    } catch (...) {
        ::unlink(own_initrd.c_str());
        throw;
    }
    ::unlink(own_initrd.c_str());
    return {{"uki", out, bytes, raw}};
}

}  // namespace berth::builder
