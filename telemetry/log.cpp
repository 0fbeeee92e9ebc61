#include "telemetry/log.hpp"

#include <unistd.h>

#include <memory>

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "telemetry/json_log.hpp"

namespace backfilld {

namespace {

/// Writes each record as one JSON line; the role comes out of the "[role] "
/// prefix every actor's line carries, so that no call site changes.
class json_formatter final : public spdlog::formatter {
 public:
  json_formatter(int64_t pid, std::string host, std::string node)
    : pid_(pid),
      host_(std::move(host)),
      node_(std::move(node)) {
    // nop
  }

  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    auto level = spdlog::level::to_string_view(msg.level);
    log_record r;
    r.time = msg.time;
    r.level = std::string_view{level.data(), level.size()};
    r.line = std::string_view{msg.payload.data(), msg.payload.size()};
    r.pid = pid_;
    r.host = host_;
    r.node = node_;
    auto line = json_log_line(r);
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>(pid_, host_, node_);
  }

 private:
  int64_t pid_;
  std::string host_;
  std::string node_;
};

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0)
    return {};
  return buf;
}

} // namespace

namespace {

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e%z %-5l ";

bool text_format = true;

} // namespace

void set_log_node_name(const std::string& name) {
  // Several nodes may share a host (or a container's host name means
  // nothing): the node name is what tells their lines apart.
  if (!text_format) {
    spdlog::default_logger()->set_formatter(std::make_unique<json_formatter>(
      static_cast<int64_t>(getpid()), host_name(), name));
    return;
  }
  spdlog::set_pattern(std::string{text_pattern} + "[node " + name + "] %v");
}

bool setup_logging(const std::string& level, const std::string& format) {
  auto parsed = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only "off" itself may mean off.
  if (parsed == spdlog::level::off && level != "off")
    return false;
  if (format != "text" && format != "json")
    return false;
  text_format = format == "text";
  auto logger = spdlog::stdout_logger_mt("backfilld");
  if (format == "json")
    logger->set_formatter(std::make_unique<json_formatter>(
      static_cast<int64_t>(getpid()), host_name(), std::string{}));
  else
    logger->set_pattern(std::string{text_pattern} + "%v");
  logger->set_level(parsed);
  // Containers collect stdout line by line; flush each so nothing is lost
  // when the process is killed.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return true;
}

} // namespace backfilld
