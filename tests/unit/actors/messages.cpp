#define CAF_SUITE messages
#include "actor_fixture.hpp"
#include "round_trip.hpp"

using namespace backfilld;
using namespace backfilld::test;

namespace {

backfill_job sample_job() {
  backfill_job job;
  job.id = 7;
  job.asset = 12;
  job.kind = job_kind::extend;
  job.symbol = "AMD";
  job.asset_type = "stock";
  job.currency = "USD";
  job.attempts = 2;
  job.first_transaction = 19'000;
  job.first_price = 19'400;
  job.want_from = 19'000;
  job.rewrite_reason = "close of 2023-02-10: stored 200.5, served 100.25";
  return job;
}

price_series sample_series() {
  price_series series;
  series.symbol = "VOD.L";
  series.currency = "GBp";
  series.exchange_timezone = "Europe/London";
  series.source = "yahoo";
  series.bars.push_back(price_bar{19'800, 70.1, 71.2, 69.9, 70.5, 70.4, 1000});
  series.bars.push_back(price_bar{19'801, 70.5, 70.9, 70.0, 70.2, -1, -1});
  series.skipped_bars = 3;
  series.events.push_back(
    price_event{19'800, event_kind::dividend, 0.24, 0, 0});
  series.events.push_back(price_event{19'801, event_kind::split, 0, 1, 10});
  series.skipped_events = 2;
  series.held.push_back(
    held_bar{19'802, 0.7, "minor_unit", "close 0.7; neighbour 70.2"});
  return series;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(message_tests, actor_fixture)

CAF_TEST(every message type survives serialisation) {
  check_round_trip(sys, asset_seen{12, 99, 1});
  check_round_trip(
    sys, pg_notification{"transaction_created", R"({"asset_id": 12})", 4242});
  check_round_trip(sys, atom::pull_v, uint32_t{4},
                   std::vector<job_id>{1, 2, 3});
  check_round_trip(sys, std::vector<backfill_job>{sample_job(), sample_job()});
  check_round_trip(sys, atom::failed_v, sample_job(),
                   job_failure{failure_kind::throttled, "HTTP 429", 7000});
  check_round_trip(sys, job_verdict{7, verdict_action::give_up_permanent, 0,
                                    false, "symbol_not_found"});
  check_round_trip(sys, job_release{{7, 8}, false});
  check_round_trip(
    sys, std::vector<enqueue_result>{
           {12, "AMD", enqueue_outcome::queued, true, hold_reason::none, ""},
           {13, "", enqueue_outcome::failed_before, false,
            hold_reason::permanent_failure, "symbol_not_found"}});
  check_round_trip(sys, atom::write_v, sample_job(), sample_series());
  check_round_trip(sys, write_summary{251, 3, {}});
  check_round_trip(sys, write_summary{250, 3, {}, {19'802, 19'900}});
  check_round_trip(
    sys,
    write_summary{0, 0, "close of 2023-02-10: stored 200.5, served 100.25"});
  check_round_trip(sys, http_request{"https://api.tiingo.com/x",
                                     {{"Authorization", "Token k"}}});
  check_round_trip(sys, http_response{200, "application/json", 5, "{}"});
  check_round_trip(sys, atom::track_v, std::vector<asset_id>{1, 2});
  check_round_trip(sys, atom::throttle_v, std::string{"coingecko"},
                   caf::timespan{std::chrono::seconds{5}});
  check_round_trip(sys, atom::restart_v, role::job_queue);
  check_round_trip(sys, atom::wake_v);
  check_round_trip(sys,
                   catch_up_report{{{12, "AMD", enqueue_outcome::has_prices,
                                     false, hold_reason::none, ""}},
                                   4711,
                                   true});
  check_round_trip(sys, atom::done_v, sample_job(), write_summary{251, 3, {}});
  check_round_trip(sys, atom::release_v, std::vector<job_id>{4, 5});
  // Group commit (perf11).
  check_round_trip(sys, atom::write_v,
                   std::vector<series_write>{{sample_job(), sample_series()},
                                             {sample_job(), price_series{}}});
  check_round_trip(
    sys, std::vector<stored_outcome>{
           {write_summary{250, 3, {}, {19'802}}, "", ec::none},
           {write_summary{}, "violates foreign key", ec::database_error}});
}

CAF_TEST(errors of our category render for humans) {
  auto err =
    make_error(ec::symbol_not_found, "No data found, symbol may be delisted");
  CAF_CHECK(is(err, ec::symbol_not_found));
  CAF_CHECK(!is(err, ec::no_data));
  CAF_CHECK_EQUAL(render(err),
                  "symbol_not_found: No data found, symbol may be delisted");
  CAF_CHECK_EQUAL(sys.render(err),
                  "symbol_not_found: No data found, symbol may be delisted");
  auto copy = round_trip(sys, caf::make_message(err));
  CAF_REQUIRE(copy.match_elements<caf::error>());
  CAF_CHECK(is(copy.get_as<caf::error>(0), ec::symbol_not_found));
}

CAF_TEST_FIXTURE_SCOPE_END()
