#include "app/status_nodes.hpp"

#include <algorithm>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace backfilld {

namespace {

std::string pad(std::string x, size_t width) {
  if (x.size() < width)
    x.append(width - x.size(), ' ');
  return x;
}

} // namespace

std::string nodes_table(const std::vector<node_status>& nodes) {
  if (nodes.empty())
    return {};
  size_t name_width = 4;
  for (const auto& n : nodes)
    name_width = std::max(name_width, n.name.size());
  std::string out = "\nFetcher nodes\n";
  out += pad("NODE", name_width) + "  " + pad("STATE", 10) + "  " +
         pad("CONNECTED SINCE", 20) + "  " + pad("LAST SEEN", 20) +
         "  IN HAND     DONE   FAILED  PER MIN\n";
  for (const auto& n : nodes) {
    char numbers[64];
    std::snprintf(numbers, sizeof(numbers), "%7d  %7lld  %7lld  %7d",
                  n.jobs_in_hand, static_cast<long long>(n.done),
                  static_cast<long long>(n.failed), n.per_minute);
    auto state =
      n.state == "lost" && !n.lost_reason.empty() && n.lost_reason != "lost"
        ? "lost (" + n.lost_reason + ")"
        : n.state;
    out += pad(n.name, name_width) + "  " + pad(state, 10) + "  " +
           pad(n.connected_since, 20) + "  " + pad(n.last_seen, 20) + "  " +
           numbers + "\n";
  }
  return out;
}

std::string with_nodes_json(std::string doc,
                            const std::vector<node_status>& nodes) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w{buffer};
  auto str = [&](const std::string& x) {
    w.String(x.c_str(), static_cast<rapidjson::SizeType>(x.size()));
  };
  w.StartArray();
  for (const auto& n : nodes) {
    w.StartObject();
    w.Key("name");
    str(n.name);
    w.Key("connected_since");
    str(n.connected_since);
    w.Key("last_seen");
    str(n.last_seen);
    w.Key("jobs_in_hand");
    w.Int(n.jobs_in_hand);
    w.Key("done");
    w.Int64(n.done);
    w.Key("failed");
    w.Int64(n.failed);
    w.Key("per_minute");
    w.Int(n.per_minute);
    w.Key("state");
    str(n.state);
    w.Key("lost_reason");
    if (n.lost_reason.empty())
      w.Null();
    else
      str(n.lost_reason);
    w.EndObject();
  }
  w.EndArray();
  // The document is one object on one line: insert before its closing
  // brace.
  auto close = doc.rfind('}');
  if (close == std::string::npos)
    return doc;
  auto nodes_json = std::string{",\"nodes\":"} + buffer.GetString();
  doc.insert(close, nodes_json);
  return doc;
}

} // namespace backfilld
