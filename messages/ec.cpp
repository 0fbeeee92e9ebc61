#include "messages/ec.hpp"

namespace backfilld {

const char* to_string(ec code) {
  switch (code) {
  case ec::none:
    return "none";
  case ec::database_unavailable:
    return "database_unavailable";
  case ec::database_error:
    return "database_error";
  case ec::insufficient_privilege:
    return "insufficient_privilege";
  case ec::symbol_not_found:
    return "symbol_not_found";
  case ec::rate_limited:
    return "rate_limited";
  case ec::provider_unavailable:
    return "provider_unavailable";
  case ec::malformed_response:
    return "malformed_response";
  case ec::no_data:
    return "no_data";
  case ec::response_too_large:
    return "response_too_large";
  case ec::network_error:
    return "network_error";
  case ec::no_market_price:
    return "no_market_price";
  case ec::invalid_symbol:
    return "invalid_symbol";
  case ec::malformed_notification:
    return "malformed_notification";
  case ec::invalid_config:
    return "invalid_config";
  case ec::shutting_down:
    return "shutting_down";
  case ec::history_limit:
    return "history_limit";
  case ec::protocol_mismatch:
    return "protocol_mismatch";
  case ec::job_not_in_hand:
    return "job_not_in_hand";
  }
  return "unknown";
}

} // namespace backfilld
