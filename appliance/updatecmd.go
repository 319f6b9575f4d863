package appliance

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/update"
)

const updateUsage = `Usage:
  applianced update install [-force] [-tries N] [-no-reboot] BUNDLE
                            verify BUNDLE, write it to the inactive slot, reboot into it
  applianced update status  the running version, boot entries, failed updates
`

// updateMain runs `applianced update ...` on this box. It needs no
// configuration, so a broken configuration file cannot block an update.
func updateMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	trusted, err := update.TrustedKeys()
	if err != nil {
		fmt.Fprintln(stderr, "applianced: update:", err)
		return 1
	}
	return runUpdate(ctx, update.New(update.BoxPaths(), trusted, update.SystemReboot), args, stdout, stderr)
}

func runUpdate(ctx context.Context, in *update.Installer, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, updateUsage)
		return 2
	}
	switch args[0] {
	case "install":
		fs := flag.NewFlagSet("applianced update install", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fs.Usage = func() { fmt.Fprint(stderr, updateUsage); fs.PrintDefaults() }
		force := fs.Bool("force", false, "install a version that is not newer than the running one, or while the running one is not marked good yet")
		tries := fs.Int("tries", update.DefaultTries, fmt.Sprintf("boots the new version gets to become healthy (1-%d)", update.MaxTries))
		noReboot := fs.Bool("no-reboot", false, "do not reboot after installing")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return 2
		}
		res, err := in.Install(ctx, fs.Arg(0), update.Options{
			Force: *force, Tries: *tries, NoReboot: *noReboot,
			Progress: progressPrinter(stdout),
		})
		if res != nil {
			for _, w := range res.Warnings {
				fmt.Fprintln(stderr, "applianced: update: warning:", w)
			}
		}
		if err != nil {
			fmt.Fprintln(stderr, "applianced: update:", err)
			return 1
		}
		fmt.Fprintf(stdout, "installed %s into slot %s (boot entry %s, %d tries to become healthy)\n", res.Version, res.Slot, res.Entry, res.Tries)
		if res.SetAside != "" {
			fmt.Fprintf(stdout, "the boot entry of %s was renamed %s so that %s boots next; it boots again only if %s fails\n", res.From, res.SetAside, res.Version, res.Version)
		}
		if *noReboot {
			fmt.Fprintln(stdout, "reboot to start it; if it does not become healthy the box goes back to", res.From)
		} else {
			fmt.Fprintln(stdout, "rebooting")
		}
		return 0
	case "status":
		if len(args) != 1 {
			fmt.Fprint(stderr, updateUsage)
			return 2
		}
		st, err := in.Status(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "applianced: update:", err)
			return 1
		}
		printStatus(stdout, st)
		return 0
	}
	fmt.Fprint(stderr, updateUsage)
	return 2
}

// progressPrinter prints a line per phase and every 10 percent.
func progressPrinter(w io.Writer) func(phase string, done, total int64) {
	var last string
	var step int64
	return func(phase string, done, total int64) {
		pct := int64(100)
		if total > 0 {
			pct = done * 100 / total
		}
		if phase != last {
			last, step = phase, -1
		}
		if pct/10 > step {
			step = pct / 10
			fmt.Fprintf(w, "%s %d%%\n", phase, pct)
		}
	}
}

func printStatus(w io.Writer, st *update.Status) {
	if st.Version != "" {
		fmt.Fprintf(w, "running:  %s (slot %s)\n", st.Version, st.Slot)
	} else {
		fmt.Fprintf(w, "running:  unknown (%s)\n", st.Problem)
	}
	keys := "none: this build cannot install updates"
	if len(st.TrustedKeys) > 0 {
		keys = strings.Join(st.TrustedKeys, ", ")
	}
	fmt.Fprintf(w, "trusts:   %s\n", keys)
	if st.TestKeyTrusted {
		fmt.Fprintf(w, "          WARNING: %s is the public test key; anyone can sign updates for this box\n", update.TestKeyID)
	}
	fmt.Fprintln(w, "boot entries:")
	if len(st.Entries) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, e := range st.Entries {
		fmt.Fprintf(w, "  %-36s %s\n", e.File, e.Describe())
	}
	if len(st.Failures) > 0 {
		fmt.Fprintln(w, "failed updates:")
	}
	for _, f := range st.Failures {
		fmt.Fprintf(w, "  %s\n", f.Summary())
		for _, line := range strings.Split(f.Text, "\n") {
			if line != "" {
				fmt.Fprintf(w, "    | %s\n", line)
			}
		}
	}
	if len(st.History) > 0 {
		fmt.Fprintln(w, "history:")
	}
	for _, e := range st.History {
		fmt.Fprintf(w, "  %s  %s\n", e.Time.Local().Format(time.DateTime), e.Describe())
	}
}
