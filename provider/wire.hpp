// What the providers other than Yahoo share: the request they build, and the
// small readings of their answers that every decoder needs.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "messages/ec.hpp"
#include "messages/types.hpp"

namespace backfilld {

/// A GET for one provider: the URL and the headers it needs besides the
/// transport's own (keys travel in headers, never in the URL, so that they
/// stay out of logged URLs).
struct provider_request {
  std::string url;
  /// (name, value) pairs, e.g. {"Authorization", "Token …"}.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Why the request covers less than the window asked for (a plan's
  /// history limit); empty when it covers all of it.
  std::string shortfall;
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

/// ASCII upper case, for tickers and currency codes.
std::string to_upper(std::string_view text);

/// An answer that is not what the provider's API promises.
fault malformed(std::string what);

/// Parses a provider's JSON answer. Accepts bare NaN and Infinity (the
/// decoders skip such prices); parses iteratively, so that a deeply nested
/// body cannot exhaust the stack; refuses invalid UTF-8 here rather than
/// letting the database refuse it later. False on a parse error.
bool parse_json(std::string_view body, rapidjson::Document& doc);

/// The `malformed` fault for a document `parse_json` refused.
fault not_json(const rapidjson::Document& doc);

/// The member `key` of a JSON object, or null when it is absent or `object`
/// is no object.
const rapidjson::Value* member(const rapidjson::Value& object, const char* key);

/// A volume as the providers send it: a non-negative integer, or a number
/// that fits one. Empty for null and anything else.
std::optional<int64_t> volume_of(const rapidjson::Value& x);

/// Keeps one bar per day, the last one served for that day, in day order
/// (a repeated day keeps the later bar for every provider alike).
void keep_last_per_day(std::vector<price_bar>& bars);

/// The `no_data` fault for a decoded series without bars (a window without
/// trading, or only unusable `what`s, e.g. "bar"), or none when it has bars.
fault require_bars(const price_series& series, std::string_view what);

/// A status other than the API's own answers: 429 is rate limiting, all
/// else a provider that is unavailable for now (never final for the asset).
/// `message` is the provider's own error text, when it sent one.
fault unexpected_status(int status, const std::string& message = {});

} // namespace backfilld
