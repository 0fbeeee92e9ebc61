#!/usr/bin/env bash
# make_test_ca.sh OUTDIR
#
# Creates a throwaway test CA and a server certificate for the fake Yahoo
# server, valid for a few days:
#   OUTDIR/ca.pem, OUTDIR/ca.key          the CA (give ca.pem to the client)
#   OUTDIR/server.pem, OUTDIR/server.key  CN=127.0.0.1,
#                                         SAN IP:127.0.0.1, DNS:localhost;
#                                         also good as a TLS client's
#                                         certificate (mutual TLS between
#                                         cluster nodes)
#
# Idempotent: if OUTDIR already holds a server certificate that verifies
# against ca.pem and is valid for at least another day, nothing is done.
# Quiet (prints nothing on success) and non-interactive.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
outdir=$1
days=5

command -v openssl >/dev/null || {
    echo "$0: openssl not found (Debian package openssl)" >&2
    exit 1
}
mkdir -p "$outdir"
cd "$outdir"

if [[ -s ca.pem && -s ca.key && -s server.pem && -s server.key ]] &&
    openssl verify -CAfile ca.pem server.pem >/dev/null 2>&1 &&
    openssl verify -CAfile ca.pem -purpose sslclient server.pem >/dev/null 2>&1 &&
    openssl x509 -in server.pem -noout -checkend 86400 >/dev/null 2>&1; then
    exit 0
fi

work=$(mktemp -d "./.make_test_ca.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 077

# Our own config, so the system openssl.cnf cannot add or clash with
# extensions.  SKI/AKI are set because strict verifiers (Python >= 3.13,
# VERIFY_X509_STRICT) reject certificates without them.
cat >"$work/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no

[dn]
CN = backfilld test CA

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF

run() {
    # Quiet unless something fails; then show openssl's complaint.
    if ! "$@" >"$work/log" 2>&1; then
        cat "$work/log" >&2
        exit 1
    fi
}

run openssl req -x509 -new -config "$work/openssl.cnf" -extensions ca_ext \
    -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
    -days "$days" -sha256
run openssl req -new -config "$work/openssl.cnf" -subj "/CN=127.0.0.1" \
    -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.csr"
run openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" \
    -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -sha256 -extfile "$work/openssl.cnf" \
    -extensions server_ext -out "$work/server.pem"

chmod 644 "$work/ca.pem" "$work/server.pem"
# Keys last: a half-written set never passes the idempotence check above.
mv -f "$work/ca.pem" "$work/server.pem" .
mv -f "$work/ca.key" "$work/server.key" .
