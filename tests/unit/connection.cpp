#define CAF_SUITE connection
#include <caf/test/unit_test.hpp>

#include "db/connection.hpp"

using namespace backfilld;

CAF_TEST(passwords never reach a log line) {
  CAF_CHECK_EQUAL(mask_secrets("postgresql://app:s3cret@db:5432/pt"),
                  "postgresql://app:***@db:5432/pt");
  CAF_CHECK_EQUAL(mask_secrets("postgres://app:p%40ss@db/pt?sslmode=require"),
                  "postgres://app:***@db/pt?sslmode=require");
  CAF_CHECK_EQUAL(mask_secrets("postgresql://app@db/pt"),
                  "postgresql://app@db/pt");
  CAF_CHECK_EQUAL(mask_secrets("postgresql://db/pt?user=app&password=hunter2"),
                  "postgresql://db/pt?user=app&password=***");
  CAF_CHECK_EQUAL(mask_secrets("host=db user=app password=hunter2 dbname=pt"),
                  "host=db user=app password=*** dbname=pt");
  CAF_CHECK_EQUAL(mask_secrets("host=db password='two words' dbname=pt"),
                  "host=db password=*** dbname=pt");
  // A provider behind an authenticating proxy.
  CAF_CHECK_EQUAL(mask_secrets("https://me:pw@proxy.lan:8443/yahoo"),
                  "https://me:***@proxy.lan:8443/yahoo");
  CAF_CHECK_EQUAL(mask_secrets("http://proxy.lan/v8?a=b"),
                  "http://proxy.lan/v8?a=b");
}

CAF_TEST(connection strings get defaults for unset keys only) {
  db_settings s;
  s.url = "postgresql://app@db/pt";
  auto url = connection_string(s);
  CAF_CHECK(
    url.rfind("postgresql://app@db/pt?application_name=backfilld&", 0) == 0);
  CAF_CHECK(url.find("keepalives=1") != std::string::npos);
  CAF_CHECK(url.find("tcp_user_timeout=30000") != std::string::npos);
  s.url = "postgresql://app@db/pt?connect_timeout=9";
  url = connection_string(s);
  CAF_CHECK(url.find("connect_timeout=9") != std::string::npos);
  CAF_CHECK(url.find("connect_timeout=5") == std::string::npos);
  s.url = "host=db dbname=pt";
  url = connection_string(s);
  CAF_CHECK(url.rfind("host=db dbname=pt application_name=backfilld ", 0) == 0);
  s.url.clear();
  url = connection_string(s);
  CAF_CHECK(url.rfind("application_name=backfilld ", 0) == 0);
}

CAF_TEST(the statement timeout travels in the connection options) {
  db_settings s;
  s.statement_timeout = std::chrono::milliseconds{1234};
  s.url = "postgresql://app@db/pt";
  CAF_CHECK(connection_string(s).find(
              "&options=-c%20statement_timeout%3D1234") != std::string::npos);
  s.url = "host=db dbname=pt";
  CAF_CHECK(connection_string(s).find(" options='-c statement_timeout=1234'") !=
            std::string::npos);
  // The user's own options win.
  s.url = "host=db options='-c search_path=pt'";
  CAF_CHECK(connection_string(s).find("statement_timeout") ==
            std::string::npos);
}
