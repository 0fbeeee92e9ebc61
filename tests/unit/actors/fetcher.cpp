#define CAF_SUITE fetcher
#include "fakes.hpp"

#include <algorithm>
#include <deque>
#include <functional>

#include "actors/fetcher.hpp"
#include "telemetry/counters.hpp"
#include "test_data.hpp"

using namespace backfilld;
using namespace backfilld::test;
using namespace std::chrono_literals;

namespace {

std::string fixture_body(const std::string& name) {
  return test::test_data("yahoo/" + name);
}

/// Everything the fetcher's limiter, workers and writer saw.
struct world {
  // limiter
  bool grant_freely = true;
  std::vector<caf::typed_response_promise<atom::grant>> waiting_for_grant;
  std::vector<caf::timespan> throttles;
  /// Which provider each throttle, grant request and good answer was for.
  std::vector<std::string> throttled_providers;
  std::vector<std::string> grants_for;
  std::vector<std::string> answered;
  // provider
  std::map<std::string, http_response> responses; // by URL fragment
  std::vector<std::string> urls;
  int gets_in_flight = 0;
  int max_gets_in_flight = 0;
  /// Which worker holds each unanswered request, oldest first.
  std::deque<size_t> holders;
  bool hold_gets = false;
  // writer
  std::vector<std::pair<job_id, size_t>> writes;
  std::vector<backfill_job> written;
  /// The `source` of every series written.
  std::vector<std::string> sources;
  /// The writer's answers, in order, while any are left: "the stored
  /// history disagrees" (nothing written).
  std::deque<std::string> disagreements;
};

rate_limiter_actor::behavior_type fake_limiter(rate_limiter_actor::pointer self,
                                               std::shared_ptr<world> w) {
  return {
    [=](atom::acquire,
        const std::string& provider) -> caf::result<atom::grant> {
      w->grants_for.push_back(provider);
      if (w->grant_freely)
        return atom::grant_v;
      auto promise = self->make_response_promise<atom::grant>();
      w->waiting_for_grant.push_back(promise);
      return promise;
    },
    [=](atom::throttle, const std::string& provider, caf::timespan pause) {
      w->throttled_providers.push_back(provider);
      w->throttles.push_back(pause);
    },
    [=](atom::done, const std::string& provider) {
      w->answered.push_back(provider);
    },
    // The fetcher never caps its limiter: the cluster gate does.
    [=](atom::cap, double) { CAF_FAIL("the fetcher sent the limiter a cap"); },
    // The test's lever: grant the oldest waiting request (a promise must be
    // delivered by its own actor).
    [=](atom::tick) {
      if (w->waiting_for_grant.empty())
        return;
      w->waiting_for_grant.front().deliver(atom::grant_v);
      w->waiting_for_grant.erase(w->waiting_for_grant.begin());
    },
  };
}

/// A worker with a lever: `flush` answers the oldest held request with a
/// good chart.
using fake_worker_actor =
  fetcher_worker_actor::extend<caf::reacts_to<atom::flush>>;

http_response ok_chart();

struct fake_worker_state {
  std::deque<caf::typed_response_promise<http_response>> held;
};

fake_worker_actor::behavior_type
fake_worker(fake_worker_actor::stateful_pointer<fake_worker_state> self,
            std::shared_ptr<world> w, size_t index) {
  return {
    [=](atom::flush) {
      auto& held = self->state.held;
      if (held.empty())
        return;
      --w->gets_in_flight;
      held.front().deliver(ok_chart());
      held.pop_front();
    },
    [=](atom::get, const http_request& req) -> caf::result<http_response> {
      w->urls.push_back(req.url);
      if (w->hold_gets) {
        ++w->gets_in_flight;
        w->max_gets_in_flight =
          std::max(w->max_gets_in_flight, w->gets_in_flight);
        auto promise = self->make_response_promise<http_response>();
        self->state.held.push_back(promise);
        w->holders.push_back(index);
        return promise;
      }
      for (const auto& [fragment, response] : w->responses)
        if (req.url.find(fragment) != std::string::npos)
          return response;
      return http_response{404, "application/json", -1,
                           fixture_body("not_found.json")};
    },
  };
}

writer_actor::behavior_type fake_writer(writer_actor::pointer,
                                        std::shared_ptr<world> w) {
  return {
    [=](atom::write, const backfill_job& job, const price_series& series) {
      w->writes.emplace_back(job.id, series.bars.size());
      w->written.push_back(job);
      w->sources.push_back(series.source);
      if (!w->disagreements.empty()) {
        auto disagreement = std::move(w->disagreements.front());
        w->disagreements.pop_front();
        return write_summary{0, 0, std::move(disagreement)};
      }
      return write_summary{static_cast<int32_t>(series.bars.size()), 0, {}};
    },
    [](tracker_actor) {},
  };
}

backfill_job job(job_id id, std::string symbol, std::string type = "stock") {
  backfill_job j;
  j.id = id;
  j.asset = static_cast<asset_id>(id + 100);
  j.symbol = std::move(symbol);
  j.asset_type = std::move(type);
  j.attempts = 1;
  return j;
}

http_response ok_chart() {
  return http_response{200, "application/json;charset=utf-8", -1,
                       fixture_body("aapl_1d.json")};
}

/// An extension of AMD back to 2023-12-09 (19'700) whose stored history
/// starts on 2024-01-28 (19'750).
backfill_job extension(job_id id) {
  auto j = job(id, "AMD");
  j.kind = job_kind::extend;
  j.first_transaction = 19'700;
  j.want_from = 19'700;
  j.first_price = 19'750;
  return j;
}

/// The bounds of a chart URL's window, in days (a week's margin included).
std::string period(day_number from, day_number until) {
  return "period1=" + std::to_string(int64_t{from} * 86'400) +
         "&period2=" + std::to_string(int64_t{until} * 86'400);
}

struct fixture : actor_fixture {
  std::shared_ptr<world> w = std::make_shared<world>();
  std::shared_ptr<queue_script> q = std::make_shared<queue_script>();
  job_queue_actor queue = start(fake_job_queue, q);
  rate_limiter_actor limiter = start(fake_limiter, w);
  writer_actor writer_hdl = start(fake_writer, w);
  std::vector<fake_worker_actor> workers;
  fetcher_actor hdl;
  /// Applied to the settings last, by tests that need other ones.
  std::function<void(fetcher_settings&)> tweak;

  /// Answers the oldest held provider request (whichever worker holds it).
  void answer_one_get() {
    CAF_REQUIRE(!w->holders.empty());
    self->send(workers[w->holders.front()], atom::flush_v);
    w->holders.pop_front();
    settle();
  }

  void grant_one() {
    self->send(limiter, atom::tick_v);
    settle();
  }

  void launch(uint32_t window, size_t worker_count) {
    std::vector<fetcher_worker_actor> pool;
    for (size_t i = 0; i < worker_count; ++i) {
      workers.push_back(start(fake_worker, w, i));
      pool.push_back(workers.back());
    }
    fetcher_settings s;
    s.base_url = "http://provider.test";
    s.window = window;
    s.http_timeout = 10s;
    s.store_timeout = 10s;
    s.classify.throttle_pause = 60s;
    s.retry_delay = 1s;
    s.grant_timeout = 30s;
    s.start_unix_time = 1'710'000'000; // 2024-03-09, a Saturday
    if (tweak)
      tweak(s);
    hdl = start(fetcher, queue, limiter, writer_hdl, pool, s);
    settle();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(fetcher_tests, fixture)

CAF_TEST(a job goes from pull to grant to fetch to write to done) {
  w->responses["/AMD?"] = ok_chart();
  q->jobs_to_hand_out.push_back({job(1, "AMD")});
  launch(4, 2);
  CAF_REQUIRE_EQUAL(w->urls.size(), 1u);
  CAF_CHECK_EQUAL(w->urls[0], "http://provider.test/v8/finance/chart/AMD"
                              "?range=1y&interval=1d&includeAdjustedClose=true"
                              "&events=div,split");
  CAF_REQUIRE_EQUAL(w->writes.size(), 1u);
  CAF_CHECK_EQUAL(w->writes[0].second, 5u);
  CAF_REQUIRE_EQUAL(q->done.size(), 1u);
  CAF_CHECK_EQUAL(q->done[0].first, 1);
  CAF_CHECK(q->failed.empty());
}

CAF_TEST(the provider is never called without a grant) {
  w->grant_freely = false;
  w->responses["/AMD?"] = ok_chart();
  q->jobs_to_hand_out.push_back({job(1, "AMD"), job(2, "AMD")});
  launch(4, 2);
  CAF_CHECK(w->urls.empty());
  CAF_REQUIRE_EQUAL(w->waiting_for_grant.size(), 2u);
  grant_one();
  CAF_CHECK_EQUAL(w->urls.size(), 1u);
  grant_one();
  CAF_CHECK_EQUAL(w->urls.size(), 2u);
  CAF_CHECK_EQUAL(q->done.size(), 2u);
}

CAF_TEST(a provider at its concurrency holds no worker for the next job) {
  w->grant_freely = false;
  w->responses["/AMD?"] = ok_chart();
  q->jobs_to_hand_out.push_back({job(1, "AMD"), job(2, "AMD"), job(3, "AMD")});
  tweak = [](fetcher_settings& s) {
    s.provider_concurrency = {{"yahoo", 1}};
  };
  launch(4, 3);
  // One request waits for its grant; the other two jobs wait for the slot,
  // and their workers are idle.
  CAF_REQUIRE_EQUAL(w->waiting_for_grant.size(), 1u);
  auto& st =
    deref<caf::stateful_actor<fetcher_state, fetcher_actor::base>>(hdl).state;
  CAF_CHECK_EQUAL(st.parked["yahoo"].size(), 2u);
  CAF_CHECK_EQUAL(st.idle_workers.size(), 2u);
  CAF_CHECK_EQUAL(st.busy["yahoo"], 1u);
  // Each answer frees the slot for the next job.
  grant_one();
  CAF_CHECK_EQUAL(w->urls.size(), 1u);
  CAF_REQUIRE_EQUAL(w->waiting_for_grant.size(), 1u);
  grant_one();
  grant_one();
  CAF_CHECK_EQUAL(w->urls.size(), 3u);
  CAF_CHECK_EQUAL(q->done.size(), 3u);
  CAF_CHECK(st.parked["yahoo"].empty());
  CAF_CHECK_EQUAL(st.busy["yahoo"], 0u);
  CAF_CHECK_EQUAL(st.idle_workers.size(), 3u);
}

CAF_TEST(a restarted limiter is asked again for the grants that were lost) {
  w->grant_freely = false;
  w->responses["/AMD?"] = ok_chart();
  q->jobs_to_hand_out.push_back({job(1, "AMD")});
  launch(4, 1);
  CAF_REQUIRE_EQUAL(w->waiting_for_grant.size(), 1u);
  // The limiter dies with the request; its successor grants freely.
  auto successor_world = std::make_shared<world>();
  auto successor = start(fake_limiter, successor_world);
  self->send(hdl, successor);
  settle();
  CAF_CHECK_EQUAL(w->urls.size(), 1u);
  CAF_CHECK_EQUAL(q->done.size(), 1u);
  // A late answer of the dead one changes nothing.
  grant_one();
  CAF_CHECK_EQUAL(w->urls.size(), 1u);
}

CAF_TEST(a grant that never comes is asked for again) {
  w->grant_freely = false;
  w->responses["/AMD?"] = ok_chart();
  q->jobs_to_hand_out.push_back({job(1, "AMD")});
  launch(4, 1);
  CAF_REQUIRE_EQUAL(w->waiting_for_grant.size(), 1u);
  wait(31s);
  wait(1s);
  CAF_CHECK_EQUAL(w->waiting_for_grant.size(), 2u);
  grant_one(); // The stale request: its answer is ignored.
  CAF_CHECK(w->urls.empty());
  grant_one();
  CAF_CHECK_EQUAL(w->urls.size(), 1u);
}

CAF_TEST(the window bounds what is pulled and held) {
  w->hold_gets = true;
  q->jobs_to_hand_out.push_back({job(1, "A"), job(2, "B"), job(3, "C")});
  launch(3, 2);
  // Full: no further pull while three jobs are held.
  CAF_CHECK_EQUAL(q->pull_capacities, std::vector<uint32_t>{3});
  // Two workers: two requests in flight, the third job waits.
  CAF_CHECK_EQUAL(w->max_gets_in_flight, 2);
  answer_one_get();
  // One finished: the window has room for one more.
  CAF_CHECK_EQUAL(q->pull_capacities, std::vector<uint32_t>({3, 1}));
  CAF_CHECK_EQUAL(w->urls.size(), 3u);
}

CAF_TEST(the window is refilled half at a time and not slot by slot) {
  w->hold_gets = true;
  q->jobs_to_hand_out.push_back(
    {job(1, "A"), job(2, "B"), job(3, "C"), job(4, "D")});
  launch(4, 2);
  CAF_CHECK_EQUAL(q->pull_capacities, std::vector<uint32_t>{4});
  // One slot free: a claim for one job would cost the database as much as
  // one for many, and the three held keep both workers busy.
  answer_one_get();
  CAF_CHECK_EQUAL(q->pull_capacities, std::vector<uint32_t>{4});
  answer_one_get();
  CAF_CHECK_EQUAL(q->pull_capacities, std::vector<uint32_t>({4, 2}));
}

CAF_TEST(a window no larger than the workers is refilled slot by slot) {
  w->hold_gets = true;
  q->jobs_to_hand_out.push_back({job(1, "A"), job(2, "B")});
  launch(2, 2);
  // Waiting for a second free slot would leave a worker idle meanwhile.
  answer_one_get();
  CAF_CHECK_EQUAL(q->pull_capacities, std::vector<uint32_t>({2, 1}));
}

CAF_TEST(a restarted queue learns what is held even when no pull is due) {
  w->hold_gets = true;
  q->jobs_to_hand_out.push_back(
    {job(1, "A"), job(2, "B"), job(3, "C"), job(4, "D")});
  launch(4, 2);
  answer_one_get();
  CAF_CHECK_EQUAL(q->pull_capacities, std::vector<uint32_t>{4});
  // Three held, one slot free: no pull is due, but without one the new
  // queue would not keep the leases of the three.
  auto q2 = std::make_shared<queue_script>();
  self->send(hdl, start(fake_job_queue, q2));
  settle();
  CAF_CHECK_EQUAL(q2->pull_capacities, std::vector<uint32_t>{0});
  CAF_REQUIRE_EQUAL(q2->pull_held.size(), 1u);
  CAF_CHECK_EQUAL(q2->pull_held[0], std::vector<job_id>({2, 3, 4}));
}

CAF_TEST(an unknown symbol fails permanently) {
  q->jobs_to_hand_out.push_back({job(1, "NOSUCH")});
  launch(4, 1);
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  CAF_CHECK_EQUAL(q->failed[0].second.kind, failure_kind::permanent);
  CAF_CHECK(q->failed[0].second.reason.find("symbol may be delisted") !=
            std::string::npos);
  CAF_CHECK(w->writes.empty());
}

CAF_TEST(cash is skipped without a grant or a request) {
  w->grant_freely = false;
  q->jobs_to_hand_out.push_back({job(1, "EUR", "cash")});
  launch(4, 1);
  CAF_CHECK(w->urls.empty());
  CAF_CHECK(w->waiting_for_grant.empty());
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  CAF_CHECK_EQUAL(q->failed[0].second.kind, failure_kind::permanent);
}

CAF_TEST(a 429 slows its provider down and costs the job no attempt) {
  w->responses["/AMD?"] =
    http_response{429, "text/plain", 7, "Too Many Requests"};
  q->jobs_to_hand_out.push_back({job(1, "AMD")});
  launch(4, 1);
  CAF_REQUIRE_EQUAL(w->throttles.size(), 1u);
  CAF_CHECK_EQUAL(w->throttles[0], caf::timespan{7s});
  CAF_CHECK_EQUAL(w->throttled_providers, std::vector<std::string>{"yahoo"});
  CAF_CHECK_EQUAL(w->grants_for, std::vector<std::string>{"yahoo"});
  CAF_CHECK(w->answered.empty());
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  CAF_CHECK_EQUAL(q->failed[0].second.kind, failure_kind::throttled);
  CAF_CHECK_EQUAL(q->failed[0].second.retry_after_ms, 7000);
}

CAF_TEST(provider trouble is a transient failure) {
  w->responses["/A?"] = http_response{503, "text/html", -1, "<html>x</html>"};
  w->responses["/B?"] = http_response{200, "text/html", -1, "<html>x</html>"};
  w->responses["/C?"] = http_response{
    200, "application/json", -1, R"({"chart":{"result":null,"error":null}})"};
  q->jobs_to_hand_out.push_back({job(1, "A"), job(2, "B"), job(3, "C")});
  launch(4, 3);
  CAF_REQUIRE_EQUAL(q->failed.size(), 3u);
  for (const auto& [id, failure] : q->failed)
    CAF_CHECK_EQUAL(failure.kind, failure_kind::transient);
}

CAF_TEST(draining hands back jobs not started and waits for the rest) {
  w->hold_gets = true;
  q->jobs_to_hand_out.push_back({job(1, "A"), job(2, "B"), job(3, "C")});
  launch(3, 1);
  auto drained = ask<int32_t>(hdl, atom::drain_v);
  settle();
  CAF_CHECK_EQUAL(q->released, std::vector<job_id>({2, 3}));
  CAF_CHECK(!drained->arrived());
  answer_one_get();
  CAF_REQUIRE(drained->value);
  CAF_CHECK_EQUAL(*drained->value, 1);
  CAF_CHECK_EQUAL(q->done.size(), 1u);
}

CAF_TEST(an extension on another basis is refetched whole and rewritten) {
  w->responses["/AMD?"] = ok_chart();
  w->disagreements.push_back("close of 2024-01-29: stored 200.5, served 100");
  q->jobs_to_hand_out.push_back({extension(1)});
  launch(4, 1);
  // First up to the first stored day; then from the wanted start to today
  // (2024-03-09, 19'791).
  CAF_REQUIRE_EQUAL(w->urls.size(), 2u);
  CAF_CHECK(w->urls[0].find(period(19'693, 19'751)) != std::string::npos);
  CAF_CHECK(w->urls[1].find(period(19'693, 19'792)) != std::string::npos);
  CAF_REQUIRE_EQUAL(w->written.size(), 2u);
  CAF_CHECK(!w->written[0].rewrites_history());
  CAF_CHECK_EQUAL(w->written[1].rewrite_reason,
                  "close of 2024-01-29: stored 200.5, served 100");
  CAF_REQUIRE_EQUAL(q->done.size(), 1u);
  CAF_CHECK_EQUAL(q->done[0].second.bars, 5);
  CAF_CHECK(q->failed.empty());
}

CAF_TEST(a new split over stored history refetches from the first stored day) {
  // Any job that is not an extension (a refresh, say) whose answer announces
  // a split the stored history predates.
  w->responses["/AMD?"] = ok_chart();
  w->disagreements.push_back("a new split 10:1 on 2024-03-01");
  auto refresh = job(1, "AMD");
  refresh.first_price = 19'750;
  q->jobs_to_hand_out.push_back({refresh});
  launch(4, 1);
  CAF_REQUIRE_EQUAL(w->urls.size(), 2u);
  CAF_CHECK(w->urls[0].find("range=1y") != std::string::npos);
  // From the first stored day (a week's margin) to today (2024-03-09).
  CAF_CHECK(w->urls[1].find(period(19'743, 19'792)) != std::string::npos);
  CAF_REQUIRE_EQUAL(w->written.size(), 2u);
  CAF_CHECK_EQUAL(w->written[1].rewrite_reason,
                  "a new split 10:1 on 2024-03-01");
  CAF_CHECK_EQUAL(w->written[1].kind, job_kind::backfill);
  CAF_REQUIRE_EQUAL(q->done.size(), 1u);
  CAF_CHECK(q->failed.empty());
}

CAF_TEST(a rewrite that still disagrees fails instead of refetching again) {
  w->responses["/AMD?"] = ok_chart();
  for (int i = 0; i < 3; ++i)
    w->disagreements.push_back("close of 2024-01-29: stored 200.5, served 100");
  q->jobs_to_hand_out.push_back({extension(1)});
  launch(4, 1);
  CAF_CHECK_EQUAL(w->urls.size(), 2u);
  CAF_CHECK(q->done.empty());
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  // The queue's retries bound it.
  CAF_CHECK_EQUAL(q->failed[0].second.kind, failure_kind::transient);
}

CAF_TEST(a rewrite that finds no data is retried and not settled) {
  // The extension's window has bars; the rewrite's (up to today) has none.
  w->responses["period2=" + std::to_string(19'751 * 86'400)] = ok_chart();
  w->responses["period2=" + std::to_string(19'792 * 86'400)] = http_response{
    200, "application/json", -1, fixture_body("no_timestamps.json")};
  w->disagreements.push_back("close of 2024-01-29: stored 200.5, served 100");
  q->jobs_to_hand_out.push_back({extension(1)});
  launch(4, 1);
  CAF_CHECK_EQUAL(w->urls.size(), 2u);
  CAF_CHECK(q->done.empty());
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  CAF_CHECK_EQUAL(q->failed[0].second.kind, failure_kind::transient);
}

// -- the provider chain ------------------------------------------------------

namespace {

/// An FX job for EUR/USD, priced in `currency`.
backfill_job fx_job(job_id id, std::string currency = "USD") {
  auto j = job(id, "EURUSD", "currency");
  j.currency = std::move(currency);
  return j;
}

http_response frankfurter_rates() {
  return http_response{200, "application/json; charset=utf-8", -1,
                       test::test_data("frankfurter/eur_usd.json")};
}

size_t yahoo_requests(const world& w) {
  return static_cast<size_t>(
    std::count_if(w.urls.begin(), w.urls.end(), [](const std::string& url) {
      return url.find("provider.test") != std::string::npos;
    }));
}

} // namespace

CAF_TEST(a failing yahoo falls through to the fallback stored as a refresh) {
  w->responses["provider.test"] = http_response{503, "text/html", -1, "<p>"};
  w->responses["fx.test"] = frankfurter_rates();
  tweak = [](fetcher_settings& s) {
    s.providers.frankfurter_base_url = "http://fx.test";
  };
  q->jobs_to_hand_out.push_back({fx_job(1)});
  launch(4, 1);
  CAF_REQUIRE_EQUAL(w->urls.size(), 2u);
  CAF_CHECK(w->urls[1].find("http://fx.test/v1/") == 0);
  CAF_REQUIRE_EQUAL(w->written.size(), 1u);
  CAF_CHECK_EQUAL(w->sources[0], "frankfurter");
  // Each request was granted by its own provider's bucket, and only the
  // provider that answered well may speed up.
  CAF_CHECK_EQUAL(w->grants_for,
                  (std::vector<std::string>{"yahoo", "frankfurter"}));
  CAF_CHECK_EQUAL(w->answered, std::vector<std::string>{"frankfurter"});
  // Checked against the stored history, whatever the job's kind.
  CAF_CHECK_EQUAL(w->written[0].kind, job_kind::refresh);
  CAF_CHECK_EQUAL(q->done.size(), 1u);
}

CAF_TEST(failures everywhere fail the job with every reason) {
  w->responses["provider.test"] = http_response{503, "text/html", -1, "<p>"};
  w->responses["fx.test"] =
    http_response{404, "application/json", -1, R"({"message":"not found"})"};
  tweak = [](fetcher_settings& s) {
    s.providers.frankfurter_base_url = "http://fx.test";
  };
  q->jobs_to_hand_out.push_back({fx_job(1)});
  launch(4, 1);
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  const auto& failure = q->failed[0].second;
  CAF_CHECK_EQUAL(failure.kind, failure_kind::transient);
  CAF_MESSAGE(failure.reason);
  CAF_CHECK(failure.reason.find("yahoo: provider_unavailable: HTTP 503") == 0);
  CAF_CHECK(failure.reason.find("; frankfurter: symbol_not_found: ") !=
            std::string::npos);
  CAF_CHECK(w->writes.empty());
}

CAF_TEST(a fallback in another currency is refused) {
  w->responses["provider.test"] = http_response{503, "text/html", -1, "<p>"};
  w->responses["fx.test"] = frankfurter_rates();
  tweak = [](fetcher_settings& s) {
    s.providers.frankfurter_base_url = "http://fx.test";
  };
  q->jobs_to_hand_out.push_back({fx_job(1, "CHF")});
  launch(4, 1);
  CAF_CHECK(w->writes.empty());
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  CAF_CHECK(q->failed[0].second.reason.find(
              "frankfurter: quotes USD, but the asset is in CHF") !=
            std::string::npos);
}

CAF_TEST(an asset type without a usable provider fails saying so) {
  w->grant_freely = false;
  tweak = [](fetcher_settings& s) {
    s.providers.chains["stock"] = {"tiingo"};
  };
  q->jobs_to_hand_out.push_back({job(1, "AAPL")});
  launch(4, 1);
  CAF_CHECK(w->waiting_for_grant.empty());
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  CAF_CHECK(q->failed[0].second.reason.find(
              "no usable provider for stock assets (tiingo: no API key") == 0);
}

CAF_TEST(an open breaker skips yahoo until one probe per cool-down) {
  w->grant_freely = false;
  w->responses["provider.test"] = http_response{503, "text/html", -1, "<p>"};
  w->responses["fx.test"] = frankfurter_rates();
  tweak = [](fetcher_settings& s) {
    s.providers.frankfurter_base_url = "http://fx.test";
    s.breaker.failures = 2;
    s.breaker.cool_down = 60s;
    s.breaker.successes = 2;
    s.grant_timeout = 600s;
  };
  for (job_id id = 1; id <= 6; ++id)
    q->jobs_to_hand_out.push_back({fx_job(id)});
  launch(1, 1);
  // Jobs 1 and 2: Yahoo fails, Frankfurter serves; the breaker opens.
  for (int i = 0; i < 4; ++i)
    grant_one();
  CAF_CHECK_EQUAL(yahoo_requests(*w), 2u);
  CAF_CHECK_EQUAL(q->done.size(), 2u);
  // Job 3 goes straight to Frankfurter, and so does job 4.
  grant_one();
  CAF_CHECK_EQUAL(q->done.size(), 3u);
  CAF_CHECK_EQUAL(yahoo_requests(*w), 2u);
  // The cool-down passes while job 4 waits; Yahoo is back meanwhile.
  wait(61s);
  w->responses["provider.test"] = ok_chart();
  grant_one();
  CAF_CHECK_EQUAL(q->done.size(), 4u);
  CAF_CHECK_EQUAL(yahoo_requests(*w), 2u);
  // Job 5 is the probe; one good probe does not close it yet, job 6 is
  // the second.
  grant_one();
  CAF_CHECK_EQUAL(yahoo_requests(*w), 3u);
  grant_one();
  CAF_CHECK_EQUAL(yahoo_requests(*w), 4u);
  CAF_CHECK_EQUAL(q->done.size(), 6u);
  CAF_CHECK_EQUAL(w->sources, std::vector<std::string>(
                                {"frankfurter", "frankfurter", "frankfurter",
                                 "frankfurter", "yahoo", "yahoo"}));
}

CAF_TEST(the last provider of a chain is asked even when its breaker is open) {
  w->responses["provider.test"] = http_response{503, "text/html", -1, "<p>"};
  tweak = [](fetcher_settings& s) {
    s.breaker.failures = 1;
  };
  for (job_id id = 1; id <= 3; ++id)
    q->jobs_to_hand_out.push_back({job(id, "AMD")});
  launch(1, 1);
  // Yahoo alone (Tiingo has no key): every job asks it, as before chains.
  CAF_CHECK_EQUAL(yahoo_requests(*w), 3u);
  CAF_REQUIRE_EQUAL(q->failed.size(), 3u);
  CAF_CHECK_EQUAL(q->failed[2].second.reason, "provider_unavailable: HTTP 503");
}

CAF_TEST(a job whose providers all wait goes back without an attempt) {
  w->responses["provider.test"] = http_response{503, "text/html", -1, "<p>"};
  w->responses["fx.test"] =
    http_response{429, "text/plain", 300, "Too Many Requests"};
  tweak = [](fetcher_settings& s) {
    s.providers.frankfurter_base_url = "http://fx.test";
    s.breaker.failures = 1;
    s.breaker.cool_down = 60s;
  };
  q->jobs_to_hand_out.push_back({fx_job(1)});
  q->jobs_to_hand_out.push_back({fx_job(2)});
  launch(1, 1);
  CAF_REQUIRE_EQUAL(q->failed.size(), 2u);
  // Job 1 met Yahoo failing: transient, its attempt counts.
  CAF_CHECK_EQUAL(q->failed[0].second.kind, failure_kind::transient);
  // Job 2: Yahoo skipped for its open breaker, Frankfurter paused by its
  // 429. Counting attempts would fail it within seconds; it waits instead.
  CAF_CHECK_EQUAL(q->failed[1].second.kind, failure_kind::throttled);
  CAF_CHECK_GREATER_OR_EQUAL(q->failed[1].second.retry_after_ms, 299'000);
  CAF_CHECK_EQUAL(yahoo_requests(*w), 1u);
}

// -- pauses, per-asset sources, history limits --------------------------------

CAF_TEST(a paused provider hands its waiting jobs back and others go on) {
  // Yahoo serves one request at a time... two: job 1 and the FX job 2 wait
  // for its grants, stock job 3 is parked behind them.
  w->grant_freely = false;
  w->responses["/AMD?"] =
    http_response{429, "text/plain", 60, "Too Many Requests"};
  w->responses["fx.test"] = frankfurter_rates();
  tweak = [](fetcher_settings& s) {
    s.providers.frankfurter_base_url = "http://fx.test";
    s.provider_concurrency = {{"yahoo", 2}};
  };
  q->jobs_to_hand_out.push_back({job(1, "AMD"), fx_job(2), job(3, "AMD")});
  q->jobs_to_hand_out.push_back({fx_job(4)});
  launch(3, 3);
  auto& st =
    deref<caf::stateful_actor<fetcher_state, fetcher_actor::base>>(hdl).state;
  CAF_REQUIRE_EQUAL(w->waiting_for_grant.size(), 2u);
  CAF_CHECK_EQUAL(st.parked["yahoo"].size(), 1u);
  // Job 1's answer pauses Yahoo for a minute. Nothing waits for it in
  // memory: the stock jobs go back to the table until the pause ends (no
  // attempt counted), the FX job falls through to Frankfurter, and the
  // window's room goes to the next job (FX again).
  grant_one();
  CAF_CHECK_EQUAL(w->throttled_providers, std::vector<std::string>{"yahoo"});
  CAF_REQUIRE_EQUAL(q->failed.size(), 2u);
  for (const auto& [id, failure] : q->failed) {
    CAF_CHECK(id == 1 || id == 3);
    CAF_CHECK_EQUAL(failure.kind, failure_kind::throttled);
    CAF_CHECK_GREATER_OR_EQUAL(failure.retry_after_ms, 59'000);
  }
  CAF_CHECK(q->failed[1].second.reason.find("paused for another 60 s") !=
              std::string::npos ||
            q->failed[0].second.reason.find("paused for another 60 s") !=
              std::string::npos);
  CAF_CHECK(st.parked["yahoo"].empty());
  CAF_CHECK_EQUAL(st.busy["yahoo"], 0u);
  CAF_CHECK_EQUAL(st.held.size(), 2u); // jobs 2 and 4, both FX
  // Job 2's old Yahoo request is still in the limiter's line: its grant
  // must not send job 2's Frankfurter request on a Yahoo token.
  grant_one();
  CAF_CHECK_EQUAL(w->urls.size(), 1u);
  grant_one();
  grant_one();
  CAF_CHECK_EQUAL(yahoo_requests(*w), 1u);
  CAF_REQUIRE_EQUAL(q->done.size(), 2u);
  CAF_CHECK_EQUAL(w->sources,
                  (std::vector<std::string>{"frankfurter", "frankfurter"}));
  CAF_CHECK_EQUAL(st.idle_workers.size(), 3u);
}

CAF_TEST(an asset that names its source asks it first) {
  w->responses["cg.test"] = http_response{
    200, "application/json", -1, test::test_data("coingecko/btc_daily.json")};
  tweak = [](fetcher_settings& s) {
    s.providers.coingecko_base_url = "http://cg.test";
  };
  auto btc = job(1, "BTC", "crypto");
  btc.currency = "USD";
  btc.source = " CoinGecko ";
  q->jobs_to_hand_out.push_back({btc});
  launch(4, 1);
  CAF_CHECK_EQUAL(w->grants_for, std::vector<std::string>{"coingecko"});
  CAF_CHECK_EQUAL(yahoo_requests(*w), 0u);
  CAF_REQUIRE_EQUAL(q->done.size(), 1u);
  CAF_CHECK_EQUAL(w->sources, std::vector<std::string>{"coingecko"});
  // Served by the asset's own first provider: stored as its kind says.
  CAF_CHECK_EQUAL(w->written[0].kind, job_kind::backfill);
}

CAF_TEST(an asset naming no provider fails without a request) {
  auto before = metrics().unknown_sources.load();
  auto amd = job(1, "AMD");
  amd.source = "MANUAL";
  q->jobs_to_hand_out.push_back({amd});
  launch(4, 1);
  CAF_CHECK(w->grants_for.empty());
  CAF_REQUIRE_EQUAL(q->failed.size(), 1u);
  CAF_CHECK_EQUAL(q->failed[0].second.kind, failure_kind::permanent);
  CAF_CHECK_EQUAL(q->failed[0].second.reason,
                  "the asset's source \"MANUAL\" is not a provider (yahoo, "
                  "frankfurter, coingecko, tiingo)");
  CAF_CHECK_EQUAL(metrics().unknown_sources.load(), before + 1);
  auto& st =
    deref<caf::stateful_actor<fetcher_state, fetcher_actor::base>>(hdl).state;
  CAF_CHECK_EQUAL(st.idle_workers.size(), 1u);
}

CAF_TEST(an extension beyond the free history stores the year and says why) {
  w->responses["cg.test"] = http_response{
    200, "application/json", -1, test::test_data("coingecko/btc_daily.json")};
  tweak = [](fetcher_settings& s) {
    s.providers.coingecko_base_url = "http://cg.test";
    s.providers.chains["crypto"] = {"coingecko"};
  };
  // 2024-03-09: an extension two years back from a history that starts on
  // 2024-03-08 (the fixture's days are within the last year).
  auto btc = job(1, "BTC", "crypto");
  btc.currency = "USD";
  btc.kind = job_kind::extend;
  btc.first_transaction = 19'791 - 730;
  btc.want_from = 19'791 - 730;
  btc.first_price = 19'790;
  // Then one wholly beyond it.
  auto older = btc;
  older.id = 2;
  older.first_price = 19'791 - 400;
  q->jobs_to_hand_out.push_back({btc});
  q->jobs_to_hand_out.push_back({older});
  launch(1, 1);
  CAF_REQUIRE_EQUAL(w->writes.size(), 1u);
  CAF_CHECK_GREATER(w->writes[0].second, 0u);
  CAF_CHECK(q->done.empty());
  // Both jobs have run by now (a window of one: the second follows).
  CAF_REQUIRE_EQUAL(q->failed.size(), 2u);
  const auto& failure = q->failed[0].second;
  CAF_MESSAGE(failure.reason);
  CAF_CHECK_EQUAL(failure.kind, failure_kind::permanent);
  CAF_CHECK(failure.reason.find("stored ") == 0);
  CAF_CHECK(failure.reason.find("serve only the past 365 days") !=
            std::string::npos);
  // Wholly beyond it: no request, and the same reason.
  CAF_CHECK_EQUAL(w->urls.size(), 1u);
  CAF_CHECK_EQUAL(q->failed[1].second.kind, failure_kind::permanent);
  CAF_CHECK(q->failed[1].second.reason.find("history_limit: ") == 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
