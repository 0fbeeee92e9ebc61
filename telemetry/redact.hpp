// What is fit for a log line or a metric label: settings that may carry a
// password, with the password masked.

#pragma once

#include <string>
#include <string_view>

namespace backfilld {

/// The URL or libpq key=value string with its password replaced by "***":
/// `scheme://user:secret@host` (a database, or a provider reached through an
/// authenticating proxy) and `password=…` keys or query parameters.
std::string mask_secrets(std::string_view url);

} // namespace backfilld
