#include "actors/supervisor.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/db_watchdog.hpp"
#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

/// Bound on the queue's drain and the tracker's flush at shutdown: what they
/// cannot write by then is found again from the table (leases, catch-up).
constexpr auto shutdown_step_timeout = std::chrono::seconds{10};

template <class Handle>
void watch(self_pointer self, const Handle& hdl, role r) {
  self->monitor(hdl);
  self->state.roles[caf::actor_cast<caf::actor_addr>(hdl)] = r;
  // For /readyz: every role must be running.
  metrics().role_up(r);
}

/// Hands a (re)spawned role's handle to the peers that talk to it.
template <class Handle, class... Peers>
void introduce(self_pointer self, const Handle& hdl, const Peers&... peers) {
  auto tell = [&](const auto& peer) {
    if (peer)
      self->send(peer, hdl);
  };
  (tell(peers), ...);
}

/// Whether the factory makes role `r`: a one-shot command (`backfilld
/// backfill`) leaves out the listener and dedupe (no sightings, no catch-up).
bool makes(const role_factory& make, role r) {
  if (r == role::listener)
    return static_cast<bool>(make.listener);
  if (r == role::dedupe)
    return static_cast<bool>(make.dedupe);
  return true;
}

/// Spawns one role and hands the new handle to every peer that uses it.
void spawn_role(self_pointer self, role r) {
  auto& st = self->state;
  auto& sys = self->system();
  if (!makes(st.make, r))
    return;
  switch (r) {
  case role::tracker:
    st.tracker = st.make.tracker(sys, st.watchdog);
    watch(self, st.tracker, r);
    introduce(self, st.tracker, st.dedupe, st.writer);
    return;
  case role::rate_limiter:
    st.limiter = st.make.rate_limiter(sys);
    watch(self, st.limiter, r);
    introduce(self, st.limiter, st.fetcher);
    return;
  case role::writer:
    st.writer = st.make.writer(sys, st.watchdog, st.tracker);
    watch(self, st.writer, r);
    introduce(self, st.writer, st.fetcher);
    return;
  case role::job_queue:
    st.queue = st.make.job_queue(sys, st.watchdog);
    watch(self, st.queue, r);
    introduce(self, st.queue, st.dedupe, st.fetcher, st.scheduler);
    return;
  case role::dedupe:
    st.dedupe = st.make.dedupe(sys, st.watchdog, st.tracker, st.queue);
    watch(self, st.dedupe, r);
    introduce(self, st.dedupe, st.listener);
    return;
  case role::fetcher:
    st.fetcher = st.make.fetcher(sys, st.queue, st.limiter, st.writer);
    watch(self, st.fetcher, r);
    return;
  case role::listener:
    st.listener = st.make.listener(sys, st.watchdog, st.dedupe);
    watch(self, st.listener, r);
    return;
  case role::scheduler:
    // A one-shot command (`backfilld backfill`) runs no schedule.
    if (!st.make.scheduler)
      return;
    st.scheduler = st.make.scheduler(sys, st.watchdog, st.queue);
    watch(self, st.scheduler, r);
    return;
  }
}

/// Ends every role that is still alive.
void stop_all(self_pointer self) {
  for (const auto& [addr, role] : self->state.roles)
    self->send_exit(addr, caf::exit_reason::user_shutdown);
}

void on_down(self_pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto i = st.roles.find(dm.source);
  if (i == st.roles.end())
    return;
  auto r = i->second;
  st.roles.erase(i);
  metrics().role_down(r, !st.stopping);
  if (st.stopping) {
    if (st.roles.empty())
      self->quit();
    return;
  }
  metrics().restarts++;
  auto window =
    st.restarts
      .try_emplace(r, st.settings.max_restarts, st.settings.restart_window)
      .first;
  if (!window->second.record(self->clock().now())) {
    BF_CRITICAL(self,
                "{} died more than {} times within {} ms ({}); giving up so "
                "that the process restarts",
                to_string(r), st.settings.max_restarts,
                st.settings.restart_window.count(), render(dm.reason));
    st.stopping = true;
    auto reason = make_error(ec::shutting_down,
                             to_string(r) + std::string{" is crash-looping"});
    stop_all(self);
    self->quit(reason);
    return;
  }
  BF_ERROR(self, "{} died ({}); restarting it in {} ms", to_string(r),
           render(dm.reason), st.settings.restart_delay.count());
  self->delayed_send(self, st.settings.restart_delay, atom::restart_v, r);
}

/// Shutdown in pipeline order: no new sightings or refresh runs (a sighting
/// is only a wake-up: the next start's catch-up finds it in the table, and
/// the next scheduler refreshes what was not refreshed), fetchers finish
/// within the grace period, the queue hands back what is left, the tracker
/// flushes.
void shut_down(self_pointer self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  BF_INFO(self, "Shutting down: finishing work in flight (grace {} ms)",
          st.settings.shutdown_grace.count());
  for (const auto& front : {caf::actor_cast<caf::actor_addr>(st.listener),
                            caf::actor_cast<caf::actor_addr>(st.dedupe),
                            caf::actor_cast<caf::actor_addr>(st.scheduler)})
    if (front)
      self->send_exit(front, caf::exit_reason::user_shutdown);
  auto finish = [=] {
    auto& st = self->state;
    self->request(st.tracker, shutdown_step_timeout, atom::flush_v)
      .then([=](int32_t) { stop_all(self); },
            [=](caf::error&) { stop_all(self); });
  };
  auto drain_queue = [=] {
    auto& st = self->state;
    self->request(st.queue, shutdown_step_timeout, atom::drain_v)
      .then([=](int32_t) { finish(); },
            [=](caf::error& err) {
              BF_WARN(self, "The queue did not drain: {}", render(err));
              finish();
            });
  };
  self->request(st.fetcher, st.settings.shutdown_grace, atom::drain_v)
    .then(
      [=](int32_t finished) {
        BF_INFO(self, "Fetcher finished {} jobs while draining", finished);
        drain_queue();
      },
      [=](caf::error& err) {
        BF_WARN(self,
                "Fetcher did not finish within the grace period ({}); "
                "releasing what it holds",
                render(err));
        self->send_exit(self->state.fetcher, caf::exit_reason::user_shutdown);
        drain_queue();
      });
}

/// Logs the summary line, at info only when a counter moved since the last
/// one: an idle daemon must not repeat itself 1,440 times a day.
void log_summary(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.settings.summary_interval, atom::tick_v);
  auto summary = metrics().summary();
  if (summary == st.last_summary)
    BF_DEBUG(self, "Summary: {}", summary);
  else
    BF_INFO(self, "Summary: {}", summary);
  st.last_summary = std::move(summary);
}

} // namespace

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervision_settings settings, role_factory make) {
  self->state.settings = settings;
  self->state.make = std::move(make);
  end_on_exception(self);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  // Linked: it holds no state worth a restart, and the stores rely on it.
  // A link ignores a normal exit, so it is also told when we end.
  auto watchdog = self->spawn<caf::linked>(db_watchdog);
  self->state.watchdog = watchdog;
  self->attach_functor([watchdog] {
    caf::anon_send_exit(watchdog, caf::exit_reason::user_shutdown);
  });
  for (auto r : all_roles)
    spawn_role(self, r);
  self->send(self, atom::tick_v);
  return {
    [=](atom::shutdown) { shut_down(self); },
    [=](atom::restart, role r) {
      if (!self->state.stopping)
        spawn_role(self, r);
    },
    // An idle daemon's unchanged summary is noise at info (issue 12.5).
    [=](atom::tick) { log_summary(self); },
  };
}

} // namespace backfilld
