#include "provider/symbols.hpp"

#include <algorithm>
#include <cctype>

namespace backfilld {

namespace {

/// Longest ticker we accept; Yahoo's longest are option symbols (~21).
constexpr size_t max_symbol_length = 32;

bool is_ticker_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '.' || c == '-' || c == '^' || c == '=' ||
         c == '&' || c == '_';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

std::string upper(std::string_view s) {
  std::string result{s};
  std::transform(result.begin(), result.end(), result.begin(), [](char c) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  });
  return result;
}

std::string lower(std::string_view s) {
  std::string result{s};
  std::transform(result.begin(), result.end(), result.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return result;
}

} // namespace

bool has_market_price(std::string_view asset_type) {
  auto type = lower(asset_type);
  return type != "cash" && type != "custom";
}

fault yahoo_symbol(std::string_view asset_type, std::string_view symbol,
                   std::string& out) {
  auto type = lower(asset_type);
  if (!has_market_price(type))
    return {ec::no_market_price, "asset type " + type + " has no market price"};
  auto ticker = upper(symbol);
  if (type == "currency" || type == "fx")
    ticker.erase(std::remove(ticker.begin(), ticker.end(), '/'), ticker.end());
  if (ticker.empty())
    return {ec::invalid_symbol, "empty symbol"};
  if (ticker.size() > max_symbol_length)
    return {ec::invalid_symbol, "symbol longer than " +
                                  std::to_string(max_symbol_length) +
                                  " characters"};
  if (!std::all_of(ticker.begin(), ticker.end(), is_ticker_char))
    return {ec::invalid_symbol, "symbol holds characters no ticker has"};
  if (type == "crypto" && ticker.find('-') == std::string::npos)
    ticker += "-USD";
  else if ((type == "currency" || type == "fx") && !ends_with(ticker, "=X"))
    ticker += "=X";
  out = std::move(ticker);
  return {};
}

} // namespace backfilld
