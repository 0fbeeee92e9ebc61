#include "telemetry/redact.hpp"

#include <algorithm>
#include <cctype>

namespace backfilld {

namespace {

/// `scheme://…` as RFC 3986 spells a scheme: a letter, then letters, digits,
/// `+`, `-` or `.`. Covers postgresql:// as well as a provider's https://.
bool has_scheme(std::string_view text) {
  auto end = text.find("://");
  if (end == std::string_view::npos || end == 0 ||
      !std::isalpha(static_cast<unsigned char>(text[0])))
    return false;
  return std::all_of(text.begin(), text.begin() + end, [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  });
}

} // namespace

std::string mask_secrets(std::string_view url) {
  std::string result{url};
  // scheme://user:secret@host → scheme://user:***@host
  if (has_scheme(result)) {
    auto userinfo = result.find("://") + 3;
    auto host_end = result.find_first_of("/?", userinfo);
    auto at = result.rfind('@', host_end);
    if (at != std::string::npos && at >= userinfo) {
      auto colon = result.find(':', userinfo);
      if (colon != std::string::npos && colon < at)
        result.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=secret in key=value strings and URL query parameters.
  auto lower = result;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (auto pos = lower.find("password"); pos != std::string::npos;
       pos = lower.find("password", pos + 1)) {
    auto eq = lower.find_first_not_of(" \t", pos + 8);
    if (eq == std::string::npos || lower[eq] != '=')
      continue;
    auto value = lower.find_first_not_of(" \t", eq + 1);
    if (value == std::string::npos)
      break;
    auto value_end = lower[value] == '\'' ? lower.find('\'', value + 1)
                                          : lower.find_first_of(" \t&", value);
    if (value_end == std::string::npos)
      value_end = lower.size();
    else if (lower[value] == '\'')
      ++value_end;
    result.replace(value, value_end - value, "***");
    lower.replace(value, value_end - value, "***");
  }
  return result;
}

} // namespace backfilld
