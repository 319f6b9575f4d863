// Package netcfg owns the box's network: a desired configuration
// (interfaces with DHCP or static addresses, VLANs, bonds, MTU, static
// routes, DNS) validated against what the box has, applied with netlink,
// and read back as the observed State shown beside it.
//
// Every change is a trial, as in Junos' commit confirmed and netplan try:
// the current state is snapshotted and a deadline committed to the store
// before anything is applied; the change stays only when its confirmation
// arrives over the new configuration (at an address the change added)
// before the deadline. Otherwise, or when the daemon restarts during the
// trial, the snapshot is restored, read back and compared, and what still
// differs is reported. Every outcome goes to the change log with before and
// after.
//
// Interfaces a configuration does not name are left as they are: on the
// image, systemd-networkd's first-boot DHCP keeps serving those.
package netcfg
