package qemu

import "syscall"

// setns enters the namespace fd refers to, on the calling thread only.
func setns(fd uintptr, nstype int) error {
	const sysSetns = 308 // linux/amd64; the syscall package does not name it
	if _, _, errno := syscall.RawSyscall(sysSetns, fd, uintptr(nstype), 0); errno != 0 {
		return errno
	}
	return nil
}
