#include "builder/validate.hpp"

#include <algorithm>

#include "builder/bundle.hpp"
#include "builder/image_assembler.hpp"

namespace berth::builder {

namespace {

std::string entry_path(const ContainerSpec& c) {
    return std::string(stage_name(c.stage)) + "[" + std::to_string(c.index) + "]";
}

// Runs one check; a problem is recorded (at `fallback` when it carries no place).
template <class Fn>
void check(std::vector<YamlError>& problems, const SourcePos& fallback, const std::string& path, Fn&& fn) {
    try {
        fn();
    } catch (const YamlError& e) {
        problems.push_back(e);
    } catch (const std::exception& e) {
        problems.push_back(YamlError(fallback, path, e.what()));
    }
}

}  // namespace

std::vector<YamlError> validate_image(const ValidateOptions& opts, std::vector<std::string>* option_problems) {
    std::vector<YamlError> problems;
    ImageSpec spec = load_image_yamls(opts.files, &problems);
    // The build's options against the files, as `berth build` checks them first.
    SourcePos first_file{opts.files.empty() ? "" : opts.files.front(), 0, 0};
    for (auto& p : check_build_options(opts.build, spec, opts.key_options)) {
        if (p.in_yaml || !option_problems) problems.push_back(YamlError(first_file, "", p.message));
        else option_problems->push_back(std::move(p.message));
    }
    for (const ContainerSpec* c : spec.containers())
        check(problems, c->pos, entry_path(*c), [&] {
            check_policy(*c);
            ImageDefaults absent;
            absent.image_absent = true;
            for (auto& e : oci_config_errors(*c, draft_oci_config(*c, absent, opts.security)))
                problems.push_back(std::move(e));
        });
    // runtime.json: every problem, not only the first (a list of interfaces can have several).
    for (const ContainerSpec* c : spec.containers())
        check(problems, c->pos, entry_path(*c), [&] {
            for (auto& e : runtime_config_errors(*c)) problems.push_back(std::move(e));
        });
    check(problems, SourcePos{opts.files.empty() ? "" : opts.files.front(), 0, 0}, "",
          [&] { check_dependencies(spec); });
    // What the build reads from the host besides images: `files:` sources.
    for (auto& e : missing_file_sources(spec)) problems.push_back(std::move(e));

    // File order: the files as given, then line and column; a problem's place
    // that names no file of the list (none should) goes last.
    std::stable_sort(problems.begin(), problems.end(), [&](const YamlError& a, const YamlError& b) {
        return before_in_files(opts.files, a.where, b.where);
    });
    // One message once (a problem found by two checks).
    std::vector<YamlError> out;
    for (const auto& p : problems)
        if (std::none_of(out.begin(), out.end(), [&](const YamlError& o) { return std::string(o.what()) == p.what(); }))
            out.push_back(p);
    return out;
}

}  // namespace berth::builder
