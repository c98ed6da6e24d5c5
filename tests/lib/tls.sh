# tests/lib/tls.sh — certificates for TLS tests, made with openssl (sourced after
# harness.sh).
#
#   make_ca NAME              $TSR_TMP/tls/NAME-ca.{pem,key}: a self-signed CA
#   make_server_cert CA NAME  $TSR_TMP/tls/NAME.{pem,key}: a server certificate for
#                             127.0.0.1 and localhost, signed by CA
#   make_client_cert CA NAME  $TSR_TMP/tls/NAME.{pem,key}: a client certificate
#                             (CN=NAME), signed by CA
make_ca()
{
    mkdir -p "$TSR_TMP/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tsrelay test CA $1" \
        -keyout "$TSR_TMP/tls/$1-ca.key" -out "$TSR_TMP/tls/$1-ca.pem" 2>/dev/null ||
        fail "openssl: cannot make CA $1"
}

make_server_cert()
{
    sign_cert "$1" "$2" "/CN=127.0.0.1" \
        'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
}

make_client_cert()
{
    sign_cert "$1" "$2" "/CN=$2" 'extendedKeyUsage=clientAuth\n'
}

# sign_cert CA NAME SUBJECT EXTENSIONS
sign_cert()
{
    local d=$TSR_TMP/tls
    openssl req -newkey rsa:2048 -nodes -subj "$3" -keyout "$d/$2.key" \
        -out "$d/$2.csr" 2>/dev/null || fail "openssl: cannot make a key for $2"
    printf "$4" >"$d/$2.ext"
    openssl x509 -req -in "$d/$2.csr" -CA "$d/$1-ca.pem" -CAkey "$d/$1-ca.key" \
        -CAcreateserial -days 2 -extfile "$d/$2.ext" -out "$d/$2.pem" 2>/dev/null ||
        fail "openssl: cannot sign $2 with CA $1"
    chmod 644 "$d/$2.key"
}
