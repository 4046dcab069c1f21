#include "test_util.hpp"

#include <elf.h>

#include <cstring>

#include "common/fs.hpp"

namespace berth::test {

void write_fake_module(const std::string& path, const std::vector<std::string>& modinfo) {
    std::string shstrtab("\0.shstrtab\0.modinfo\0", 20);
    std::string info;
    for (const auto& s : modinfo) info += s + '\0';

    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_REL;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = 3;
    eh.e_shstrndx = 1;
    std::size_t shstr_off = sizeof(Elf64_Ehdr);
    std::size_t info_off = shstr_off + shstrtab.size();
    eh.e_shoff = (info_off + info.size() + 7) & ~std::size_t(7);

    Elf64_Shdr sh[3]{};
    sh[1].sh_name = 1;  // ".shstrtab"
    sh[1].sh_type = SHT_STRTAB;
    sh[1].sh_offset = shstr_off;
    sh[1].sh_size = shstrtab.size();
    sh[2].sh_name = 11;  // ".modinfo"
    sh[2].sh_type = SHT_PROGBITS;
    sh[2].sh_offset = info_off;
    sh[2].sh_size = info.size();

    std::string img(reinterpret_cast<const char*>(&eh), sizeof eh);
    img += shstrtab;
    img += info;
    img.resize(eh.e_shoff, '\0');
    img.append(reinterpret_cast<const char*>(sh), sizeof sh);
    fs::write_file(path, img, 0644);
}

}  // namespace berth::test
