// `berth build --dry-run` / `berth validate`: every check that needs neither the
// images nor the kernel, over one or several YAML files merged, reporting every
// problem found rather than the first.
#pragma once
#include <string>
#include <vector>

#include "builder/image_assembler.hpp"
#include "builder/oci_config_gen.hpp"
#include "builder/yaml_model.hpp"

namespace berth::builder {

struct ValidateOptions {
    std::vector<std::string> files;  // merged in order, as `berth build` does
    SecurityDefaults security;       // berth's defaults when available (optional)
    // The build's options, checked against the files as `berth build` checks them
    // before it starts (check_build_options): `validate` sets the architecture
    // only, `build --dry-run` all it was given (and sets key_options).
    BuildOptions build;
    bool key_options = false;
};

// The problems, in file order (the files in the order given, then line and
// column); empty when the image description is valid. What it cannot check
// without the images: the image labels' keys, user and group names, and that an
// image has a command when the entry gives none. The problems of the build's
// options that are not the files' (a --sign-key that cannot be read, an output
// format the architecture has not) go to `option_problems` when it is given,
// else among the others, placed at the first file.
std::vector<YamlError> validate_image(const ValidateOptions& opts,
                                      std::vector<std::string>* option_problems = nullptr);

}  // namespace berth::builder
