#include "actors/job_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/except>

#include "db/catch_up_queries.hpp"
#include "db/enqueue_queries.hpp"
#include "db/refresh_queries.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

job_store_actor::behavior_type
job_store(job_store_actor::stateful_pointer<job_store_state> self,
          db_settings settings, queue_settings lease,
          db_watchdog_actor watchdog) {
  auto& st = self->state;
  st.open(std::move(settings), std::move(watchdog), self->state.name);
  st.lease = std::move(lease);
  // Handlers read the settings from the state, which outlives them.
  const auto& ls = st.lease;
  return {
    [=, &ls](atom::enqueue, const std::vector<asset_id>& assets) {
      return self->state.query_tied<std::vector<enqueue_result>>(
        [&](auto& conn) { return enqueue_jobs(conn, assets, ls); });
    },
    [=, &ls](atom::claim, uint32_t limit) {
      std::vector<std::string> notes;
      auto& st = self->state;
      auto result = st.query_tied<std::vector<backfill_job>>(
        [&](auto& conn) -> std::vector<backfill_job> {
          if (st.doubtful_claim) {
            // Whatever the unanswered claim took is ours: hand it out once,
            // on this (new) session, instead of leaving it to the lease.
            auto jobs = resolve_claim(conn, *st.doubtful_claim, ls);
            st.doubtful_claim.reset();
            if (jobs.size() > limit) {
              job_release extra;
              for (auto i = jobs.begin() + limit; i != jobs.end(); ++i)
                extra.jobs.push_back(i->id);
              release_jobs(conn, extra, ls);
              jobs.resize(limit);
            }
            if (!jobs.empty()) {
              notes.push_back("Recovered " + std::to_string(jobs.size()) +
                              " jobs of a claim whose commit went unanswered");
              return jobs;
            }
          }
          auto token = claim_token(ls);
          try {
            return claim_jobs(conn, limit, ls, notes, token);
          } catch (const pqxx::in_doubt_error&) {
            // The session retries on a new connection (or the next claim
            // does): both read this claim back first.
            st.doubtful_claim = token;
            notes.push_back("The outcome of claim " + token +
                            " is unknown (the connection broke during "
                            "COMMIT); reading it back");
            throw;
          }
        });
      for (const auto& note : notes)
        BF_WARN(self, "{}", note);
      return result;
    },
    [=, &ls](atom::done, const std::vector<job_id>& jobs) {
      return self->state.query_tied<std::vector<job_id>>(
        [&](auto& conn) { return finish_jobs(conn, jobs, ls); });
    },
    [=, &ls](atom::failed, const job_verdict& verdict) {
      std::string inactive;
      auto result = self->state.query_tied<bool>(
        [&](auto& conn) { return fail_job(conn, verdict, ls, &inactive); });
      if (!inactive.empty())
        BF_WARN(self, "{}", inactive);
      return result;
    },
    [=, &ls](atom::heartbeat, const std::vector<job_id>& held) {
      lease_check check;
      auto result = self->state.query_tied<int32_t>([&](auto& conn) {
        check = extend_leases(conn, held, ls);
        return check.extended;
      });
      if (check.orphans_released > 0)
        BF_WARN(self,
                "Released {} jobs of ours that nobody held (a claim's answer "
                "was lost)",
                check.orphans_released);
      return result;
    },
    [=, &ls](atom::release, const job_release& release) {
      return self->state.query_tied<int32_t>(
        [&](auto& conn) { return release_jobs(conn, release, ls); });
    },
    [=, &ls](atom::catch_up, const scan_mark& mark) {
      int32_t pruned = 0;
      auto result = self->state.query_tied<catch_up_report>([&](auto& conn) {
        auto found = catch_up_scan(conn, mark, ls.revive_after);
        catch_up_report report{enqueue_jobs(conn, found.assets, ls), found.mark,
                               found.full};
        // A full scan's pace suits housekeeping: finished jobs do not pile
        // up.
        if (found.full)
          pruned = prune_jobs(conn, ls);
        return report;
      });
      if (pruned > 0)
        BF_INFO(self, "Pruned {} finished jobs", pruned);
      return result;
    },
  };
}

job_store_actor spawn_job_store(caf::actor_system& sys, db_settings settings,
                                queue_settings lease,
                                db_watchdog_actor watchdog) {
  return sys.spawn<caf::detached>(job_store, std::move(settings),
                                  std::move(lease), std::move(watchdog));
}

} // namespace backfilld
