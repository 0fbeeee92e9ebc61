#define CAF_SUITE status_view
#include <caf/test/unit_test.hpp>

#include <rapidjson/document.h>

#include "app/status_view.hpp"
#include "provider/trading_day.hpp"

using namespace backfilld;

namespace {

// 2024-10-11 12:00 UTC, a Friday.
constexpr int64_t friday_noon = 20'007 * int64_t{86'400} + 43'200;

asset_status amd() {
  asset_status a;
  a.asset = 12;
  a.symbol = "AMD";
  a.rows = 251;
  a.first_day = 20'007 - 365;
  a.last_day = 20'006;
  a.last_update = "2024-10-11T06:30:00Z";
  a.tracking_users = 2;
  a.source = "yahoo";
  a.job_kind = "backfill";
  a.job_state = "done";
  a.job_attempts = 1;
  return a;
}

status_view_settings at_friday_noon() {
  status_view_settings s;
  s.now = friday_noon;
  return s;
}

} // namespace

CAF_TEST(a fresh database says how work arrives) {
  auto text = status_table(status_report{}, at_friday_noon());
  CAF_CHECK(text.find("Nothing is tracked yet") != std::string::npos);
  CAF_CHECK(text.find("backfilld backfill SYMBOL") != std::string::npos);
  CAF_CHECK(text.find("Jobs by kind and state: none") != std::string::npos);
  CAF_CHECK(text.find("LAST ERROR") == std::string::npos);
}

CAF_TEST(the table cuts long errors and symbols and flags stale assets) {
  status_report report;
  report.assets.push_back(amd());
  auto old = amd();
  old.asset = 13;
  old.symbol = "AVERYLONGSYMBOLNAME.L";
  old.last_day = 20'007 - 10;
  // 70 bytes, a two-byte character across the cut.
  old.last_error = std::string(56, 'e') + "\xc3\xa9" + std::string(12, 'x');
  old.held_back = 2;
  report.assets.push_back(old);
  report.jobs.push_back(job_state_count{"backfill", "failed", 1});
  auto text = status_table(report, at_friday_noon());
  CAF_CHECK(text.find("AMD               12     251  2023-10-12  2024-10-10"
                      "  2024-10-11 06:30   yahoo     backfill done     -\n") !=
            std::string::npos);
  CAF_CHECK(text.find("AVERYLONGSYMBOLNAME") == std::string::npos);
  CAF_CHECK(text.find("AVERYLONG... ") != std::string::npos);
  CAF_CHECK(text.find("stale,held back 2") != std::string::npos);
  CAF_CHECK(text.find(std::string(56, 'e') + "...\n") != std::string::npos);
  CAF_CHECK(text.find("  backfill failed: 1\n") != std::string::npos);
  CAF_CHECK(text.find("backfilld retry SYMBOL") != std::string::npos);
  for (auto pos = text.find('\n'); pos != std::string::npos;
       pos = text.find('\n', pos + 1)) {
    auto begin = text.rfind('\n', pos - 1);
    auto width = pos - (begin == std::string::npos ? 0 : begin + 1);
    CAF_CHECK_LESS_OR_EQUAL(width, 180u);
  }
}

CAF_TEST(only assets kept current are flagged stale) {
  // Three weeks old: stale only while someone holds it, it is active and
  // the provider has a price for it.
  auto old = amd();
  old.last_day = 20'007 - 21;
  auto sold = old;
  sold.symbol = "SOLD";
  sold.tracking_users = 0;
  auto inactive = old;
  inactive.symbol = "GONE";
  inactive.inactive_since = "2024-10-01";
  auto cash = old;
  cash.symbol = "EUR";
  cash.market_price = false;
  for (const auto& a : {sold, inactive, cash}) {
    status_report report;
    report.assets.push_back(a);
    auto doc_text = status_json(report, at_friday_noon());
    rapidjson::Document doc;
    doc.Parse(doc_text.c_str());
    CAF_REQUIRE(!doc.HasParseError());
    CAF_CHECK(!doc["assets"][0]["stale"].GetBool());
    CAF_CHECK(status_table(report, at_friday_noon()).find("stale") ==
              std::string::npos);
  }
  status_report report;
  report.assets.push_back(old);
  CAF_CHECK(status_table(report, at_friday_noon()).find("stale") !=
            std::string::npos);
}

CAF_TEST(one asset shows its whole error and why it is inactive) {
  status_report report;
  auto a = amd();
  a.last_error = std::string(100, 'e');
  a.inactive_since = "2024-10-01";
  a.inactive_reason = "no data for 10 days";
  report.assets.push_back(a);
  auto text = status_table(report, at_friday_noon());
  CAF_CHECK(text.find("Last error: " + std::string(100, 'e') + "\n") !=
            std::string::npos);
  CAF_CHECK(text.find("Inactive since 2024-10-01: no data for 10 days") !=
            std::string::npos);
  CAF_CHECK(text.find("inactive") != std::string::npos);
}

CAF_TEST(the json has every key with nulls for what is absent) {
  status_report report;
  report.assets.push_back(amd());
  asset_status bare;
  bare.asset = 14;
  bare.symbol = "ZZZZ";
  bare.last_error = "symbol_not_found: \"quoted\"\n";
  report.assets.push_back(bare);
  report.jobs.push_back(job_state_count{"backfill", "done", 1});
  auto text = status_json(report, at_friday_noon());
  CAF_CHECK_EQUAL(text.back(), '\n');
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  CAF_REQUIRE(!doc.HasParseError());
  CAF_CHECK_EQUAL(std::string{doc["generated_at"].GetString()},
                  "2024-10-11T12:00:00Z");
  CAF_CHECK_EQUAL(doc["stale_after_trading_days"].GetInt(), 3);
  CAF_CHECK(!doc.HasMember("available"));
  const auto& first = doc["assets"][0];
  CAF_CHECK_EQUAL(first["asset_id"].GetInt(), 12);
  CAF_CHECK_EQUAL(first["rows"].GetInt64(), 251);
  CAF_CHECK_EQUAL(std::string{first["first_date"].GetString()}, "2023-10-12");
  CAF_CHECK_EQUAL(std::string{first["last_date"].GetString()}, "2024-10-10");
  CAF_CHECK_EQUAL(first["tracking_users"].GetInt(), 2);
  CAF_CHECK_EQUAL(std::string{first["job"]["state"].GetString()}, "done");
  CAF_CHECK(first["last_error"].IsNull());
  CAF_CHECK_EQUAL(first["missed_trading_days"].GetInt(), 0);
  CAF_CHECK(!first["stale"].GetBool());
  const auto& second = doc["assets"][1];
  for (auto key : {"first_date", "last_date", "last_update", "tracking_users",
                   "source", "job", "inactive_since", "inactive_reason"})
    CAF_CHECK(second[key].IsNull());
  CAF_CHECK_EQUAL(std::string{second["last_error"].GetString()},
                  bare.last_error);
  CAF_CHECK_EQUAL(second["held_back"].GetInt64(), 0);
  CAF_CHECK_EQUAL(doc["jobs"][0]["count"].GetInt64(), 1);
}

// -- providers
// ------------------------------------------------------------------

namespace {

provider_status provider_row(std::string name, std::string breaker,
                             double age_seconds) {
  provider_status r;
  r.state.provider = std::move(name);
  r.state.breaker = std::move(breaker);
  r.daemon = "host:42:7";
  r.period_ms = 5'000;
  r.age_seconds = age_seconds;
  r.updated_at = friday_noon - static_cast<int64_t>(age_seconds);
  return r;
}

status_report with_providers(double age_seconds) {
  status_report report;
  report.assets.push_back(amd());
  auto yahoo = provider_row("yahoo", "open", age_seconds);
  yahoo.state.open_until = friday_noon + 45;
  yahoo.state.requests = 8;
  yahoo.state.errors = 6;
  auto fx = provider_row("frankfurter", "closed", age_seconds);
  fx.state.throttled_until = friday_noon + 30;
  fx.state.requests = 40;
  fx.state.errors = 1;
  auto tiingo = provider_row("tiingo", "off", age_seconds);
  tiingo.state.note = "no API key";
  report.providers = {fx, tiingo, yahoo};
  return report;
}

} // namespace

CAF_TEST(the table shows the breaker pause and recent errors of each provider) {
  auto text = status_table(with_providers(2), at_friday_noon());
  CAF_MESSAGE(text);
  CAF_CHECK(text.find("Providers (as of 2024-10-11T11:59:58Z):\n") !=
            std::string::npos);
  CAF_CHECK(text.find("  yahoo        open until 12:00:45Z") !=
            std::string::npos);
  CAF_CHECK(text.find("6/8 failed (75%) in the last 5 min") !=
            std::string::npos);
  CAF_CHECK(text.find("  frankfurter  closed, throttled until 12:00:30Z") !=
            std::string::npos);
  CAF_CHECK(text.find("1/40 failed (2.5%)") != std::string::npos);
  CAF_CHECK(text.find("  tiingo       off: no API key") != std::string::npos);
  CAF_CHECK(text.find("no requests in the last 5 min") != std::string::npos);
  CAF_CHECK(text.find("daemon not running?") == std::string::npos);
}

CAF_TEST(an old snapshot is shown as stale and none is shown as nothing) {
  // Three periods of 5 s would be 15 s: 10 minutes is long gone.
  auto text = status_table(with_providers(600), at_friday_noon());
  CAF_CHECK(text.find("Providers (as of 2024-10-11T11:50:00Z, 10 min ago: "
                      "daemon not running?):\n") != std::string::npos);
  // Just within three periods (and the 15 s floor): current.
  auto recent = status_table(with_providers(14), at_friday_noon());
  CAF_CHECK(recent.find("daemon not running?") == std::string::npos);
  status_report none;
  none.assets.push_back(amd());
  CAF_CHECK(status_table(none, at_friday_noon()).find("Providers") ==
            std::string::npos);
}

CAF_TEST(the json lists providers with their ratio and staleness) {
  auto doc_text = status_json(with_providers(600), at_friday_noon());
  rapidjson::Document doc;
  doc.Parse(doc_text.c_str());
  CAF_REQUIRE(!doc.HasParseError());
  const auto& providers = doc["providers"];
  CAF_REQUIRE(providers.IsArray());
  CAF_REQUIRE_EQUAL(providers.Size(), 3u);
  const auto& yahoo = providers[2];
  CAF_CHECK_EQUAL(std::string{yahoo["provider"].GetString()}, "yahoo");
  CAF_CHECK_EQUAL(std::string{yahoo["breaker"].GetString()}, "open");
  CAF_CHECK_EQUAL(std::string{yahoo["open_until"].GetString()},
                  "2024-10-11T12:00:45Z");
  CAF_CHECK(yahoo["throttled_until"].IsNull());
  CAF_CHECK_EQUAL(yahoo["requests"].GetInt64(), 8);
  CAF_CHECK_EQUAL(yahoo["errors"].GetInt64(), 6);
  CAF_CHECK_EQUAL(yahoo["error_ratio"].GetDouble(), 0.75);
  CAF_CHECK_EQUAL(yahoo["window_seconds"].GetInt64(), 300);
  CAF_CHECK(yahoo["stale"].GetBool());
  CAF_CHECK_EQUAL(std::string{yahoo["daemon"].GetString()}, "host:42:7");
  const auto& tiingo = providers[1];
  CAF_CHECK(tiingo["error_ratio"].IsNull());
  CAF_CHECK_EQUAL(std::string{tiingo["note"].GetString()}, "no API key");
  // Without a snapshot: an empty list, so scripts need no special case.
  auto empty = status_json(status_report{}, at_friday_noon());
  rapidjson::Document none;
  none.Parse(empty.c_str());
  CAF_REQUIRE(none["providers"].IsArray());
  CAF_CHECK_EQUAL(none["providers"].Size(), 0u);
}
