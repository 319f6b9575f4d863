// Package tlscert provides the certificates for every HTTPS surface of the
// appliance: a self-signed default for the box's own names and addresses,
// parsing of imported key pairs, a Manager that picks a certificate per
// server name (SNI), and the server TLS configuration shared by TCP 443 and
// QUIC.
package tlscert
