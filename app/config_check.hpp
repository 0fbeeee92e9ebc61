// What an operator wrote, checked before CAF applies it: CAF 0.17 stores an
// unknown INI key without a word and drops an INI value of the wrong type
// (its parser's warnings never leave `parse`), so a typo would silently run
// the default. These checks give one message naming the key, where it came
// from and the closest valid key.

#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/error.hpp>

namespace backfilld::config_check {

/// Where each setting an operator made came from, by qualified name
/// ("db.url"; CAF's global options bare): "file PATH", "environment VAR",
/// "command line". What is not in here is a default.
using source_map = std::map<std::string, std::string>;

/// An `invalid_config` error saying `what`.
caf::error invalid(std::string what);

/// "db.url"; CAF's global options by their bare name ("config-file").
std::string qualified_name(const caf::config_option& option);

/// The environment variable an option of ours is read from:
/// db.url-file → BACKFILL_DB_URL_FILE.
std::string env_variable(const caf::config_option& option);

/// Checks `args` (`--group.key=value`, from `source`) against `options`:
/// names, flags and value types. Records each key in `sources`.
caf::error check_arguments(const caf::config_option_set& options,
                           const std::vector<std::string>& args,
                           const std::string& source, source_map& sources);

/// Checks every key of the INI file `path` against `options`, and the type
/// of its value; records the keys not already in `sources`.
caf::error check_file(const caf::config_option_set& options,
                      const std::string& path, source_map& sources);

/// Every BACKFILL_* variable must be one of `known` (or BACKFILL_CONFIG).
caf::error check_environment(const std::vector<std::string>& known);

/// A value as an operator writes it (6h, 2, "text"), not CAF's rendering.
std::string show(const caf::config_value& value);

/// `value` of option `key` fit to print: passwords in URLs and secret
/// settings masked.
std::string masked(const std::string& key, const std::string& value);

/// For every option `X-file` whose sibling `X` exists: when set, X's value
/// is read from that file (container secrets). Both set is an error.
caf::error read_secret_files(const caf::config_option_set& options,
                             source_map& sources);

} // namespace backfilld::config_check
