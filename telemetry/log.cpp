#include "telemetry/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace backfilld {

bool setup_logging(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only "off" itself may mean off.
  if (parsed == spdlog::level::off && level != "off")
    return false;
  auto logger = spdlog::stdout_logger_mt("backfilld");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %-5l %v");
  logger->set_level(parsed);
  // Containers collect stdout line by line; flush each so nothing is lost
  // when the process is killed.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return true;
}

} // namespace backfilld
