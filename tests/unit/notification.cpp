#define CAF_SUITE notification
#include <caf/test/unit_test.hpp>

#include <string>

#include "notify/notification.hpp"

using namespace backfilld;

namespace {

fault parse(const std::string& payload, asset_seen& out) {
  return parse_notification(payload, out);
}

/// The reason a payload is rejected, or "" when it is accepted.
std::string rejection(const std::string& payload) {
  asset_seen seen;
  auto f = parse(payload, seen);
  if (f)
    CAF_CHECK_EQUAL(static_cast<int>(f.code),
                    static_cast<int>(ec::malformed_notification));
  return f.detail;
}

} // namespace

CAF_TEST(the payload of the trigger) {
  asset_seen seen;
  auto f =
    parse(R"({"asset_id": 12, "transaction_id": 99, "portfolio_id": 1})", seen);
  CAF_REQUIRE(!f);
  CAF_CHECK_EQUAL(seen.asset, 12);
  CAF_CHECK_EQUAL(seen.transaction, 99);
  CAF_CHECK_EQUAL(seen.portfolio, 1);
}

CAF_TEST(only asset_id is required and extra fields are ignored) {
  asset_seen seen;
  CAF_REQUIRE(!parse(R"({"asset_id": 7, "symbol": "AMD", "qty": 1.5})", seen));
  CAF_CHECK_EQUAL(seen.asset, 7);
  CAF_CHECK_EQUAL(seen.transaction, 0);
  CAF_CHECK_EQUAL(seen.portfolio, 0);
}

CAF_TEST(informational fields of the wrong type count as absent) {
  asset_seen seen;
  CAF_REQUIRE(!parse(R"({"asset_id": 7, "transaction_id": "x",)"
                     R"( "portfolio_id": -3})",
                     seen));
  CAF_CHECK_EQUAL(seen.transaction, 0);
  CAF_CHECK_EQUAL(seen.portfolio, 0);
}

CAF_TEST(malformed payloads are rejected with a reason) {
  CAF_CHECK(rejection("").find("not JSON") == 0);
  CAF_CHECK(rejection("12").find("not a JSON object") == 0);
  CAF_CHECK(rejection("{\"asset_id\": 1").find("not JSON") == 0);
  CAF_CHECK(rejection("hello").find("not JSON") == 0);
  CAF_CHECK_EQUAL(rejection("[1, 2]"), "not a JSON object");
  CAF_CHECK_EQUAL(rejection("{}"), "no asset_id");
  CAF_CHECK_EQUAL(rejection(R"({"id": 1})"), "no asset_id");
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": "12"})"),
                  "asset_id is not a number");
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": null})"),
                  "asset_id is not a number");
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": 1.5})"),
                  "asset_id is not an integer");
}

CAF_TEST(ids outside the range of a serial column are rejected) {
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": 0})"),
                  "asset_id 0 is out of range");
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": -5})"),
                  "asset_id -5 is out of range");
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": 2147483648})"),
                  "asset_id 2147483648 is out of range");
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": 1e30})"),
                  "asset_id is out of range");
  CAF_CHECK_EQUAL(rejection(R"({"asset_id": 99999999999999999999999})"),
                  "asset_id is out of range");
  asset_seen seen;
  CAF_CHECK(!parse(R"({"asset_id": 2147483647})", seen));
  CAF_CHECK_EQUAL(seen.asset, 2147483647);
}

CAF_TEST(payloads near the NOTIFY limit) {
  // A legal payload just under 8000 bytes, padded with an ignored field.
  std::string prefix = R"({"asset_id": 3, "pad": ")";
  std::string suffix = "\"}";
  auto padding = max_notification_payload - prefix.size() - suffix.size();
  auto payload = prefix + std::string(padding, 'x') + suffix;
  CAF_REQUIRE_EQUAL(payload.size(), max_notification_payload);
  asset_seen seen;
  CAF_CHECK(!parse(payload, seen));
  CAF_CHECK_EQUAL(seen.asset, 3);
  payload.insert(prefix.size(), "y");
  CAF_CHECK(rejection(payload).find("exceeds") != std::string::npos);
}
