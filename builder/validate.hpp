// `berth build --dry-run` / `berth validate`: every check that needs neither the
// images nor the kernel, over one or several YAML files merged, reporting every
// problem found rather than the first.
#pragma once
#include <string>
#include <vector>

#include "builder/oci_config_gen.hpp"
#include "builder/yaml_model.hpp"

namespace berth::builder {

struct ValidateOptions {
    std::vector<std::string> files;  // merged in order, as `berth build` does
    SecurityDefaults security;       // berth's defaults when available (optional)
};

// The problems, in file order (the files in the order given, then line and
// column); empty when the image description is valid. What it cannot check
// without the images: the image labels' keys, user and group names, and that an
// image has a command when the entry gives none.
std::vector<YamlError> validate_image(const ValidateOptions& opts);

}  // namespace berth::builder
