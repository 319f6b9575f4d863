//go:build !(linux && amd64)

package qemu

import "errors"

func setns(fd uintptr, nstype int) error {
	return errors.New("setns: only implemented on linux/amd64, where the image runs")
}
