#include "app/one_shot.hpp"

#include <chrono>
#include <iostream>
#include <map>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/pqxx>

#include "app/progress.hpp"
#include "app/signals.hpp"
#include "db/connection.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

/// How often the table is read for the jobs' outcomes.
constexpr auto poll_interval = milliseconds{250};

/// A plain progress line this often when stderr is not a terminal.
constexpr auto log_every = milliseconds{10'000};

/// The database may be away this long before the command gives up (the
/// jobs stay queued).
constexpr auto database_patience = milliseconds{60'000};

/// Whether a job has come to an outcome the command reports: done, failed,
/// or an attempt that failed since the command queued it (its retry is the
/// daemon's business, a one-shot command does not wait for the backoff).
bool settled(const job_progress& job) {
  return job.state == "done" || job.state == "failed" ||
         !job.last_error.empty();
}

/// "AMD (asset 12)".
std::string name_of(const asset_ref& asset) {
  return asset.symbol + " (asset " + std::to_string(asset.id) + ")";
}

/// The supervisor has ended (a crash loop): nothing will settle any more.
bool ended(caf::scoped_actor& self, caf::error& reason) {
  bool down = false;
  self->receive(
    [&](caf::down_msg& dm) {
      down = true;
      reason = std::move(dm.reason);
    },
    caf::after(milliseconds{0}) >> [] {});
  return down;
}

/// Drains the pipeline (jobs in flight finish within the grace period,
/// the rest go back to the table) and waits for the supervisor to end.
void stop_pipeline(caf::scoped_actor& self, const supervisor_actor& sup,
                   milliseconds grace) {
  self->send(sup, atom::shutdown_v);
  auto deadline = clock_type::now() + grace + milliseconds{30'000};
  caf::error reason;
  while (clock_type::now() < deadline && !ended(self, reason))
    std::this_thread::sleep_for(milliseconds{50});
}

/// Prints what became of each job; returns how many are not done.
size_t report(const one_shot_work& work, const std::vector<job_progress>& jobs,
              const status_report& status) {
  std::map<asset_id, const asset_ref*> assets;
  for (const auto& a : work.assets)
    assets.emplace(a.id, &a);
  std::map<asset_id, const asset_status*> stored;
  for (const auto& s : status.assets)
    stored.emplace(s.asset, &s);
  // Thousands of assets: the failures one by one, the rest as a count.
  auto verbose = jobs.size() <= 20;
  size_t not_done = 0;
  size_t shown_failures = 0;
  for (const auto& job : jobs) {
    auto a = assets.find(job.asset);
    auto name = a != assets.end() ? name_of(*a->second)
                                  : "asset " + std::to_string(job.asset);
    if (job.state == "done") {
      if (!verbose)
        continue;
      auto s = stored.find(job.asset);
      std::cout << (work.command == "backfill" ? "Backfilled " : "Refreshed ")
                << name;
      if (s != stored.end() && s->second->rows > 0)
        std::cout << ": " << s->second->rows << " rows stored, "
                  << iso_date(s->second->first_day) << " to "
                  << iso_date(s->second->last_day);
      std::cout << "\n";
      continue;
    }
    ++not_done;
    if (!verbose && ++shown_failures > 50)
      continue;
    std::cerr << "backfilld: " << work.command << " of " << name;
    if (job.state == "failed")
      std::cerr << " failed: " << job.last_error << "\n";
    else if (!job.last_error.empty())
      std::cerr << " failed: " << job.last_error << " (the job stays queued; "
                << "a running daemon retries it at " << job.next_attempt_at
                << ")\n";
    else
      std::cerr << " did not finish (" << job.state
                << "; the job stays queued for the daemon)\n";
  }
  if (jobs.size() < work.assets.size()) {
    not_done += work.assets.size() - jobs.size();
    std::cerr << "backfilld: " << work.assets.size() - jobs.size()
              << " jobs were deleted while running (their assets went)\n";
  }
  if (!verbose)
    std::cout << (work.command == "backfill" ? "Backfilled " : "Refreshed ")
              << jobs.size() - not_done << " of " << jobs.size() << " assets\n";
  return not_done;
}

} // namespace

int run_one_shot(config& cfg, pipeline_settings settings,
                 pqxx::connection_base& conn, const one_shot_work& work) {
  std::vector<asset_id> ids;
  for (const auto& a : work.assets)
    ids.push_back(a.id);
  auto queued = queue_now(conn, ids, work.kind, work.want_from);
  if (queued.size() != ids.size()) {
    std::cerr << "backfilld: could not queue " << ids.size() - queued.size()
              << " of " << ids.size()
              << " jobs (the table kept changing); try again\n";
    return 1;
  }
  std::map<asset_id, std::string> names;
  for (const auto& a : work.assets)
    names.emplace(a.id, name_of(a));
  std::vector<job_id> jobs;
  for (const auto& q : queued) {
    jobs.push_back(q.id);
    if (q.state == "running")
      std::cerr << names[q.asset]
                << ": another backfilld is fetching it; waiting for its "
                   "outcome\n";
  }
  settings.lease.only_jobs = jobs;
  auto make = production_roles(settings);
  make.listener = nullptr;
  make.dedupe = nullptr;
  make.scheduler = nullptr;
  caf::actor_system sys{cfg};
  auto sup = sys.spawn(supervisor, settings.supervision, std::move(make));
  caf::scoped_actor self{sys};
  self->monitor(sup);
  auto label = work.command;
  if (work.assets.size() == 1)
    label += " " + work.assets.front().symbol;
  progress_meter meter{label, isatty(STDERR_FILENO) == 1, log_every};
  auto started = clock_type::now();
  auto elapsed = [&] {
    return std::chrono::duration_cast<milliseconds>(clock_type::now() -
                                                    started);
  };
  auto rows = [] {
    return metrics().rows_written.load();
  };
  progress_counts counts{0, jobs.size(), 0};
  std::vector<job_progress> last;
  auto db_away_since = clock_type::time_point{};
  int rc = 0;
  for (;;) {
    try {
      last = job_progresses(conn, jobs);
      db_away_since = {};
      // A job whose row is gone (its asset was deleted) is over too.
      counts.done = jobs.size() - last.size();
      for (const auto& job : last)
        counts.done += settled(job) ? 1 : 0;
    } catch (...) {
      auto now = clock_type::now();
      if (db_away_since == clock_type::time_point{})
        db_away_since = now;
      else if (now - db_away_since > database_patience) {
        std::cerr << "\nbackfilld: lost the database: "
                  << classify(std::current_exception()).detail
                  << " (the jobs stay queued for the daemon)\n";
        rc = 1;
        break;
      }
    }
    counts.rows = rows();
    std::cerr << meter.update(counts, elapsed()) << std::flush;
    if (counts.done >= counts.total)
      break;
    caf::error reason;
    if (ended(self, reason)) {
      std::cerr << "\nbackfilld: the pipeline stopped: " << render(reason)
                << "\n";
      rc = 1;
      break;
    }
    if (auto sig = wait_for_shutdown_signal(poll_interval)) {
      std::cerr << "\nReceived " << signal_name(sig)
                << "; unfinished jobs stay queued for the daemon\n";
      rc = 1;
      break;
    }
  }
  counts.rows = rows();
  std::cerr << meter.finish(counts, elapsed()) << std::flush;
  // The tracker flushes on the way out: `last_price_update` is current
  // before the outcome is printed.
  stop_pipeline(self, sup, settings.supervision.shutdown_grace);
  try {
    last = job_progresses(conn, jobs);
    // Rows and days for the lines of a few assets; thousands get a count.
    auto status = ids.size() <= 20 ? read_status(conn, ids) : status_report{};
    if (report(work, last, status) > 0)
      rc = 1;
  } catch (...) {
    std::cerr << "backfilld: " << classify(std::current_exception()).detail
              << "\n";
    rc = 1;
  }
  std::cout << std::flush;
  // A worker still blocked in a transfer (a hung provider) must not hold
  // up the exit; everything worth keeping is in the table.
  std::thread{[rc] {
    std::this_thread::sleep_for(milliseconds{2'000});
    std::_Exit(rc);
  }}.detach();
  return rc;
}

} // namespace backfilld
