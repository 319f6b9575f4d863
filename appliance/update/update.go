// Package update installs signed update bundles (see image/bundle) into the
// inactive A/B slot of a Switchboard box and reports how updates went.
//
// A box has two root partitions (PARTLABEL root-a and root-b) and one
// unified kernel image per slot on the EFI system partition, booted by
// systemd-boot with boot counting. [Installer.Install] verifies a bundle's
// signature and every payload hash before it writes anything, refuses a
// version that is not newer than the running one unless forced, writes the
// root image to the inactive slot, and installs that slot's kernel image as
// EFI/Linux/switchboard-<version>-<slot>+<tries>.efi so that systemd-boot
// tries it next, a limited number of times. The new system blesses itself
// (systemd-bless-boot renames the entry) once applianced is healthy;
// otherwise its tries run out and systemd-boot goes back to the old slot,
// while the image's trial service leaves failed-<version>.txt in the state
// directory. [Installer.Status] reads all of that back.
//
// The package keeps its own records as files in the state directory
// (/var/lib/switchboard-update, on the data partition that both slots
// share), next to the failure records the trial service writes. It does not
// use the store: `applianced update install` runs while the daemon holds
// the store's lock, and the record must be written whichever process installs.
//
// Every path is a field of [Paths], so tests run on a tree of plain files: a
// partition is a file of the right size.
package update

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"
)

// Paths locates everything the installer reads and writes.
type Paths struct {
	// ESP is where the EFI system partition is mounted; boot entries live in
	// its EFI/Linux directory.
	ESP string
	// PartLabels holds one link per GPT partition label (root-a, root-b).
	PartLabels string
	// Cmdline is the kernel command line, which names the running slot
	// (switchboard.slot=a or b).
	Cmdline string
	// OSRelease names the running version (IMAGE_VERSION=).
	OSRelease string
	// State holds the history and the trial service's failure records.
	State string
}

// BoxPaths are the paths on a real box.
func BoxPaths() Paths {
	return Paths{
		ESP:        "/efi",
		PartLabels: "/dev/disk/by-partlabel",
		Cmdline:    "/proc/cmdline",
		OSRelease:  "/etc/os-release",
		State:      "/var/lib/switchboard-update",
	}
}

// Slots are the two A/B slot names.
var Slots = []string{"a", "b"}

// DefaultTries is how many boots a new slot gets to become healthy.
const DefaultTries = 3

// MaxTries bounds Options.Tries.
const MaxTries = 9

// Errors callers may want to tell apart. Install wraps them.
var (
	// ErrNoTrustedKey reports a build without update keys.
	ErrNoTrustedKey = errors.New("this build trusts no update key")
	// ErrNotNewer reports a bundle that is older than, or the same as, the
	// running version.
	ErrNotNewer = errors.New("bundle is not newer than the running version")
	// ErrBusy reports another install in progress.
	ErrBusy = errors.New("another update is being installed")
	// ErrNotReady reports a box that cannot take an update now: the running
	// system is not marked good yet, or the disk is not laid out as expected.
	ErrNotReady = errors.New("the box cannot take an update now")
)

// Installer installs bundles and reports update status. Its methods are safe
// to call from several goroutines; installs are serialized by a lock file.
type Installer struct {
	paths   Paths
	trusted []ed25519.PublicKey
	reboot  func(context.Context) error
	now     func() time.Time

	// afterVerify, when set by tests, runs after every check passed and
	// before the first write.
	afterVerify func()
}

// New returns an installer that trusts the given keys and calls reboot to
// start the new slot. reboot may be nil when installs never reboot.
func New(paths Paths, trusted []ed25519.PublicKey, reboot func(context.Context) error) *Installer {
	return &Installer{paths: paths, trusted: trusted, reboot: reboot, now: time.Now}
}
