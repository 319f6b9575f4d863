// Package e2e holds end-to-end tests of the real applianced binary: started
// as a subprocess on free loopback ports, driven over HTTPS, HTTP/3 and
// headless Chromium, signalled and killed. It has no code of its own.
package e2e
