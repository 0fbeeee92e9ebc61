// The idle-memory floor of backfilld's shared libraries: what a process
// holds that loads the same libraries and initialises libcurl as the daemon
// does at start (app/main.cpp), and runs nothing else.
//
//   bench_library_floor [ENV=VALUE...] LIBRARY...
//
// bench/e2e.py passes the daemon's DT_NEEDED entries, in their order, so the
// same constructors run (GnuTLS's and OpenSSL's among them, pulled in by
// libpq's LDAP and libcurl's RTMP support). ENV=VALUE arguments are set
// before anything is loaded, since a library's constructor reads its
// environment before main could. After a second it prints "ready" and
// waits until its standard input closes, so that e2e.py reads its
// /proc/PID/status and smaps as it reads the daemon's. Idle
// RSS above this floor is what backfilld's own code and data add; below it
// needs other builds of the libraries or fewer of them.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <dlfcn.h>

int main(int argc, char** argv) {
  int first_library = 1;
  for (; first_library < argc; ++first_library) {
    auto* eq = std::strchr(argv[first_library], '=');
    if (eq == nullptr)
      break;
    std::string name{argv[first_library], eq};
    setenv(name.c_str(), eq + 1, 1);
  }
  for (int i = first_library; i < argc; ++i) {
    // Lazy binding, as the daemon's own loading (no -z now) does.
    if (dlopen(argv[i], RTLD_LAZY | RTLD_GLOBAL) == nullptr) {
      std::fprintf(stderr, "bench_library_floor: %s\n", dlerror());
      return 1;
    }
  }
  using curl_global_init_fn = int (*)(long);
  if (auto* init = reinterpret_cast<curl_global_init_fn>(
        dlsym(RTLD_DEFAULT, "curl_global_init")))
    init(3); // CURL_GLOBAL_DEFAULT, without curl's header as a dependency
  std::this_thread::sleep_for(std::chrono::seconds{1});
  std::puts("ready");
  std::fflush(stdout);
  while (std::getchar() != EOF) {
  }
}
