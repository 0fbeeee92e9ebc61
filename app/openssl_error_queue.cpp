// Works around a bug of CAF 0.17's OpenSSL module (libcaf-openssl0.17): a
// failed handshake (a plain node, a certificate from another CA) leaves its
// errors in the OpenSSL error queue of the middleman's thread, and the next
// SSL_read of any other connection on that thread then reads as failed
// (SSL_get_error consults that queue): every connected node was dropped
// whenever anyone failed a handshake. OpenSSL requires an empty queue before
// each I/O call (SSL_get_error(3)), which CAF does not ensure; these
// definitions in the executable take precedence over libssl's and clear it
// first, then call libssl. libcurl clears it itself, so this changes nothing
// for the providers' HTTPS.

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template <class F>
F next_definition(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real =
    next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"
