#include "notify/notification.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

namespace backfilld {

namespace {

fault reject(std::string reason) {
  return {ec::malformed_notification, std::move(reason)};
}

bool is_positive_int32(const rapidjson::Value& x) {
  return x.IsInt64() && x.GetInt64() > 0 &&
         x.GetInt64() <= std::numeric_limits<int32_t>::max();
}

/// Reads an optional informational field; a wrong type counts as absent.
template <class T>
T optional_id(const rapidjson::Value& object, const char* key) {
  auto i = object.FindMember(key);
  if (i == object.MemberEnd() || !i->value.IsInt64() ||
      i->value.GetInt64() <= 0 ||
      i->value.GetInt64() > std::numeric_limits<T>::max())
    return 0;
  return static_cast<T>(i->value.GetInt64());
}

} // namespace

fault parse_notification(std::string_view payload, asset_seen& out) {
  if (payload.size() > max_notification_payload)
    return reject("payload of " + std::to_string(payload.size()) +
                  " bytes exceeds PostgreSQL's NOTIFY limit");
  rapidjson::Document doc;
  // Iterative: a deeply nested payload must not exhaust the stack.
  constexpr auto flags =
    rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  doc.Parse<flags>(payload.data(), payload.size());
  if (doc.HasParseError())
    return reject(std::string{"not JSON ("} +
                  rapidjson::GetParseError_En(doc.GetParseError()) +
                  " at offset " + std::to_string(doc.GetErrorOffset()) + ")");
  if (!doc.IsObject())
    return reject("not a JSON object");
  auto id = doc.FindMember("asset_id");
  if (id == doc.MemberEnd())
    return reject("no asset_id");
  if (!id->value.IsNumber())
    return reject("asset_id is not a number");
  if (!id->value.IsInt64()) {
    auto magnitude = std::fabs(id->value.GetDouble());
    if (magnitude > std::numeric_limits<int32_t>::max())
      return reject("asset_id is out of range");
    return reject("asset_id is not an integer");
  }
  if (!is_positive_int32(id->value))
    return reject("asset_id " + std::to_string(id->value.GetInt64()) +
                  " is out of range");
  out.asset = static_cast<asset_id>(id->value.GetInt64());
  out.transaction = optional_id<int64_t>(doc, "transaction_id");
  out.portfolio = optional_id<int32_t>(doc, "portfolio_id");
  return {};
}

} // namespace backfilld
