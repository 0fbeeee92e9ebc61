#define CAF_SUITE fetch_outcome
#include <caf/test/unit_test.hpp>

#include "policy/fetch_outcome.hpp"
#include "provider/provider.hpp"
#include "test_data.hpp"

using namespace backfilld;
using namespace std::chrono_literals;

namespace {

std::string body_of(const std::string& name) {
  return test::test_data("yahoo/" + name);
}

backfill_job job_of(job_kind kind) {
  backfill_job job;
  job.id = 1;
  job.symbol = "AMD";
  job.kind = kind;
  job.first_price = 19'700; // 2023-12-09
  return job;
}

/// A Saturday: no session is open, so every bar of a fixture counts.
constexpr int64_t saturday = 1'710'000'000;

struct row {
  const char* what;
  job_kind kind;
  http_response response;
  fetch_result expected;
  failure_kind failure;
  std::chrono::milliseconds pause;
};

} // namespace

CAF_TEST(every answer has exactly one meaning) {
  classify_settings settings;
  settings.throttle_pause = 60s;
  auto json = "application/json";
  std::vector<row> table{
    {"a chart",
     job_kind::backfill,
     {200, json, -1, body_of("aapl_1d.json")},
     fetch_result::series,
     failure_kind::transient,
     0ms},
    {"429 without Retry-After",
     job_kind::backfill,
     {429, "text/plain", -1, "Too Many Requests"},
     fetch_result::pause,
     failure_kind::throttled,
     60s},
    {"429 with Retry-After",
     job_kind::backfill,
     {429, "text/plain", 7, "Too Many Requests"},
     fetch_result::pause,
     failure_kind::throttled,
     7s},
    {"429 with Retry-After 0",
     job_kind::backfill,
     {429, "text/plain", 0, "Too Many Requests"},
     fetch_result::pause,
     failure_kind::throttled,
     1s},
    {"429 with an absurd Retry-After",
     job_kind::backfill,
     {429, "text/plain", 10'000'000, ""},
     fetch_result::pause,
     failure_kind::throttled,
     3600s},
    {"unknown symbol",
     job_kind::backfill,
     {404, json, -1, body_of("not_found.json")},
     fetch_result::failure,
     failure_kind::permanent,
     0ms},
    {"a 404 that is not Yahoo's",
     job_kind::backfill,
     {404, "text/html", -1, "<html>gone</html>"},
     fetch_result::failure,
     failure_kind::transient,
     0ms},
    {"503",
     job_kind::backfill,
     {503, "text/html", -1, "<html></html>"},
     fetch_result::failure,
     failure_kind::transient,
     0ms},
    {"HTML with 200",
     job_kind::backfill,
     {200, "text/html", -1, "<html>"},
     fetch_result::failure,
     failure_kind::transient,
     0ms},
    {"no data for a backfill",
     job_kind::backfill,
     {200, json, -1, body_of("no_timestamps.json")},
     fetch_result::failure,
     failure_kind::transient,
     0ms},
    {"no data before the first price",
     job_kind::extend,
     {200, json, -1, body_of("no_timestamps.json")},
     fetch_result::settled,
     failure_kind::transient,
     0ms},
  };
  for (const auto& r : table) {
    CAF_MESSAGE(r.what);
    auto outcome = classify(job_of(r.kind), r.response, saturday, settings);
    CAF_CHECK_EQUAL(to_string(outcome.what), to_string(r.expected));
    if (outcome.what == fetch_result::failure ||
        outcome.what == fetch_result::pause)
      CAF_CHECK_EQUAL(to_string(outcome.failure.kind), to_string(r.failure));
    CAF_CHECK_EQUAL(outcome.pause.count(), r.pause.count());
    if (outcome.what == fetch_result::pause)
      CAF_CHECK_EQUAL(outcome.failure.retry_after_ms, r.pause.count());
  }
}

CAF_TEST(a series keeps its bars and a failure says why) {
  classify_settings settings;
  auto series = classify(job_of(job_kind::backfill),
                         {200, "application/json", -1, body_of("aapl_1d.json")},
                         saturday, settings);
  CAF_CHECK_EQUAL(series.series.bars.size(), 5u);
  auto gone = classify(job_of(job_kind::backfill),
                       {404, "application/json", -1, body_of("not_found.json")},
                       saturday, settings);
  CAF_CHECK_EQUAL(gone.failure.reason.rfind("symbol_not_found: ", 0), 0u);
  auto settled =
    classify(job_of(job_kind::extend),
             {200, "application/json", -1, body_of("no_timestamps.json")},
             saturday, settings);
  CAF_CHECK_EQUAL(settled.note,
                  "The provider has no history of AMD before 2023-12-09");
}

CAF_TEST(a 429 without Retry-After pauses for the pause of its provider) {
  classify_settings settings;
  settings.throttle_pause = 60s;
  settings.provider_throttle_pause = {{"frankfurter", 15s}, {"yahoo", 90s}};
  provider_settings providers;
  auto frankfurter = make_provider("frankfurter", providers);
  auto yahoo = make_provider("yahoo", providers);
  auto coingecko = make_provider("coingecko", providers);
  http_response throttled{429, "text/plain", -1, "Too Many Requests"};
  auto job = job_of(job_kind::backfill);
  CAF_CHECK_EQUAL(
    classify(*frankfurter, job, throttled, saturday, settings).pause.count(),
    15'000);
  CAF_CHECK_EQUAL(
    classify(*yahoo, job, throttled, saturday, settings).pause.count(), 90'000);
  // Not listed: the common pause.
  auto coin = job;
  coin.symbol = "BTC";
  CAF_CHECK_EQUAL(
    classify(*coingecko, coin, throttled, saturday, settings).pause.count(),
    60'000);
  // A Retry-After wins over any configured pause.
  http_response told{429, "text/plain", 7, "Too Many Requests"};
  CAF_CHECK_EQUAL(
    classify(*frankfurter, job, told, saturday, settings).pause.count(), 7'000);
}
