// Package sysd integrates applianced with systemd: readiness, status and
// watchdog notifications over the sd_notify protocol, socket activation of
// the listeners the unit hands over, and native logging to journald.
//
// Outside systemd (development runs, tests) every part degrades to a no-op
// or to plain text logs, so callers never need to check where they run.
package sysd
