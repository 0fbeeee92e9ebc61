#include "actors/node_session.hpp"

#include <chrono>

#include <caf/actor_cast.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/lifetime.hpp"
#include "messages/error.hpp"
#include "messages/type_ids.hpp"
#include "telemetry/counters.hpp"
#include "telemetry/log.hpp"

namespace backfilld {

namespace {

using self_pointer = node_session_actor::stateful_pointer<node_session_state>;
using job_list = std::vector<backfill_job>;

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Anything from the node shows that it is alive.
void seen(self_pointer self) {
  self->state.last_seen = self->clock().now();
  self->state.last_seen_ms = unix_ms();
}

node_report report_of(self_pointer self) {
  auto& st = self->state;
  node_report r;
  r.name = st.settings.node;
  r.connected_since_ms = st.connected_since_ms;
  r.last_seen_ms = st.last_seen_ms;
  r.jobs_in_hand = static_cast<int32_t>(st.in_hand.size());
  r.done = st.done;
  r.failed = st.failed;
  if (!st.done_marks.empty())
    r.per_minute = static_cast<int32_t>(st.done - st.done_marks.front().second);
  r.lost = st.lost;
  return r;
}

/// The node is gone: quit, and the job queue hands its jobs back.
void lose(self_pointer self, const std::string& reason) {
  auto& st = self->state;
  if (!st.lost.empty())
    return;
  st.lost = reason;
  BF_WARN(self, "node {} lost ({}): {} jobs handed back", st.settings.node,
          reason, st.in_hand.size());
  metrics().cluster_jobs_handed_back += static_cast<int64_t>(st.in_hand.size());
  if (st.gate)
    self->send(st.gate, atom::report_v, report_of(self));
  // A pull still waiting at the queue is dropped there with the holder.
  st.pulls.clear();
  self->quit(caf::exit_reason::normal);
}

/// Whether the node holds `job`; says why a result is ignored when not.
bool in_hand(self_pointer self, job_id job, const char* what) {
  if (self->state.in_hand.count(job) > 0)
    return true;
  BF_WARN(self,
          "late result from node {} ignored: job {} ({}) is not in its hands",
          self->state.settings.node, job, what);
  return false;
}

caf::result<job_list> on_pull(self_pointer self, uint32_t capacity,
                              const std::vector<job_id>& held) {
  auto& st = self->state;
  seen(self);
  // The node's list is the truth about what it still holds, but it cannot
  // claim what it was never handed.
  std::set<job_id> kept;
  std::vector<job_id> ours;
  for (auto job : held)
    if (st.in_hand.count(job) > 0 && kept.insert(job).second)
      ours.push_back(job);
  st.in_hand = std::move(kept);
  auto promise = self->make_response_promise<job_list>();
  auto id = st.next_pull++;
  st.pulls.emplace(id, promise);
  self->request(st.queue, caf::infinite, atom::pull_v, capacity, ours)
    .then(
      [=](job_list& jobs) {
        auto& st = self->state;
        auto i = st.pulls.find(id);
        if (i == st.pulls.end()) {
          // Answered already (the queue was replaced): not the node's.
          std::vector<job_id> ids;
          for (const auto& job : jobs)
            ids.push_back(job.id);
          if (!ids.empty())
            self->send(st.queue, atom::release_v, std::move(ids));
          return;
        }
        for (const auto& job : jobs)
          st.in_hand.insert(job.id);
        i->second.deliver(std::move(jobs));
        st.pulls.erase(i);
      },
      [=](caf::error& err) {
        auto i = self->state.pulls.find(id);
        if (i == self->state.pulls.end())
          return;
        i->second.deliver(std::move(err));
        self->state.pulls.erase(i);
      });
  return promise;
}

caf::result<write_summary> on_write(self_pointer self, const backfill_job& job,
                                    const price_series& series) {
  seen(self);
  if (!in_hand(self, job.id, "write"))
    return make_error(ec::job_not_in_hand, "job " + std::to_string(job.id) +
                                             " is not in this node's hands");
  auto promise = self->make_response_promise<write_summary>();
  self
    ->request(self->state.writer, self->state.settings.store_timeout,
              atom::write_v, job, series)
    .then([=](write_summary& s) mutable { promise.deliver(std::move(s)); },
          [=](caf::error& err) mutable { promise.deliver(std::move(err)); });
  return promise;
}

void on_done(self_pointer self, const backfill_job& job,
             const write_summary& summary) {
  auto& st = self->state;
  seen(self);
  if (!in_hand(self, job.id, "done"))
    return;
  st.in_hand.erase(job.id);
  ++st.done;
  self->send(st.queue, atom::done_v, job, summary);
}

void on_failed(self_pointer self, const backfill_job& job,
               const job_failure& failure) {
  auto& st = self->state;
  seen(self);
  if (!in_hand(self, job.id, "failed"))
    return;
  st.in_hand.erase(job.id);
  ++st.failed;
  self->send(st.queue, atom::failed_v, job, failure);
}

void on_release(self_pointer self, const std::vector<job_id>& jobs) {
  auto& st = self->state;
  seen(self);
  std::vector<job_id> ours;
  for (auto job : jobs)
    if (st.in_hand.erase(job) > 0)
      ours.push_back(job);
  if (!ours.empty())
    self->send(st.queue, atom::release_v, std::move(ours));
}

void on_tick(self_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (now - st.last_seen > st.settings.heartbeat_timeout) {
    lose(self, "heartbeat timeout");
    return;
  }
  st.done_marks.emplace_back(now, st.done);
  while (now - st.done_marks.front().first > std::chrono::minutes{1})
    st.done_marks.pop_front();
  if (st.gate)
    self->send(st.gate, atom::report_v, report_of(self));
  self->delayed_send(self, st.settings.heartbeat_interval, atom::tick_v);
}

void on_new_queue(self_pointer self, job_queue_actor queue) {
  auto& st = self->state;
  st.queue = std::move(queue);
  // The old queue died with the node's pulls; an empty answer makes the
  // node's fetcher pull again (from the new queue, saying what it holds).
  for (auto& entry : st.pulls)
    entry.second.deliver(job_list{});
  st.pulls.clear();
}

} // namespace

node_session_actor::behavior_type
node_session(node_session_actor::stateful_pointer<node_session_state> self,
             job_queue_actor queue, writer_actor writer,
             cluster_gate_actor gate, caf::actor_addr node,
             node_session_settings settings) {
  auto& st = self->state;
  st.queue = std::move(queue);
  st.writer = std::move(writer);
  st.gate = std::move(gate);
  st.node = std::move(node);
  st.settings = std::move(settings);
  st.connected_since_ms = unix_ms();
  seen(self);
  end_on_exception(self);
  if (st.node)
    self->monitor(st.node);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (dm.source == self->state.node)
      lose(self, "disconnected");
  });
  // The gate replaces a session whose node joined again.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    lose(self, msg.reason == caf::exit_reason::user_shutdown
                 ? "shutdown"
                 : "replaced by a new connection");
  });
  self->delayed_send(self, st.settings.heartbeat_interval, atom::tick_v);
  return {
    [=](atom::pull, uint32_t capacity, const std::vector<job_id>& held) {
      return on_pull(self, capacity, held);
    },
    [=](atom::wake) {
      // nop: the node pulls.
    },
    [=](atom::done, const backfill_job& job, const write_summary& summary) {
      on_done(self, job, summary);
    },
    [=](atom::failed, const backfill_job& job, const job_failure& failure) {
      on_failed(self, job, failure);
    },
    [=](atom::release, const std::vector<job_id>& jobs) {
      on_release(self, jobs);
    },
    [=](atom::drain) {
      // A node drains its own fetcher; nothing to do here.
      return int32_t{0};
    },
    [=](atom::tick) { on_tick(self); },
    [=](atom::write, const backfill_job& job, const price_series& series) {
      return on_write(self, job, series);
    },
    [=](tracker_actor) {
      // nop: the core's writer has the tracker.
    },
    [=](atom::heartbeat) {
      seen(self);
      return self->state.settings.rate_cap;
    },
    [=](atom::cap, double cap) { self->state.settings.rate_cap = cap; },
    [=](job_queue_actor queue) { on_new_queue(self, std::move(queue)); },
    [=](writer_actor writer) { self->state.writer = std::move(writer); },
  };
}

} // namespace backfilld
