//go:build unix

package client

import "syscall"

// noFollow keeps a download's .part from being a planted symbolic link.
const noFollow = syscall.O_NOFOLLOW
