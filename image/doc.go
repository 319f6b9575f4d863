// Package image builds the Switchboard appliance disk image in three phases,
// one file each, driven by a Profile (profile.go) that fixes every input:
//
//   - prepare (prepare.go) runs mmdebstrap to make the Debian base tree as a
//     tar: minbase, systemd, the kernel, systemd-boot, a small initrd made
//     from the initramfs files of rootfs/, then the whole rootfs/ overlay,
//     system users, enabled and masked units, and pruned kernel modules. The
//     tar is cached under the cache directory by a hash of everything that
//     went into it, so a rebuild with only a new applianced skips this phase.
//   - build (build.go) builds applianced and the support app for each
//     platform customers download it for, reproducibly, and streams that tar
//     into a read-only squashfs root (tar2sqfs), adding those binaries, the
//     machine-ID link and the image's version in os-release, and leaving
//     /boot and /var empty; it
//     takes the kernel, initrd, EFI stub and systemd-boot from the tar and
//     makes one Unified Kernel Image per slot with objcopy.
//   - write (write.go) lays out the GPT disk in a plain file (sfdisk), makes
//     the EFI system partition with mkfs.vfat and mtools and the data
//     partition with mkfs.ext4, copies them and the root at their offsets,
//     and compresses the result with zstd.
//
// Nothing needs a loop device, a mount or the host's boot loader: the EFI
// stub and the boot loader come from the image's own packages. Run ties the
// phases together and prints each step with its time; cmd/mkimage is its
// command line. docs/image.md describes the disk layout and the boot path.
package image
