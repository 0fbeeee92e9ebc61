// What the providers other than Yahoo share: the request they build, and the
// small readings of their answers that every decoder needs.

#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/types.hpp"

namespace backfilld {

/// A GET for one provider: the URL and the headers it needs besides the
/// transport's own (keys travel in headers, never in the URL, so that they
/// stay out of logged URLs).
struct provider_request {
  std::string url;
  /// (name, value) pairs, e.g. {"Authorization", "Token …"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Reads the leading `YYYY-MM-DD` of a provider's date; what may follow is
/// only a time part (`T…`, as Tiingo sends `2024-01-02T00:00:00.000Z`).
/// Returns `no_day` for anything else, impossible dates included.
day_number parse_iso_day(std::string_view text);

/// Percent-encodes everything but RFC 3986's unreserved characters.
std::string percent_encode(std::string_view text);

/// Whether an answer is a web page rather than data: an HTML content type,
/// or a body that starts with `<` (a 200 with a proof-of-work or consent
/// page must never pass for an empty series).
bool looks_like_html(const http_response& response);

/// A usable price: finite and positive.
bool valid_price(double x);

/// The base URL without trailing slashes, so that paths can be appended.
std::string trim_base_url(std::string_view base_url);

} // namespace backfilld
