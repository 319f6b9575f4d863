//go:build !unix

package client

// noFollow is not available here; the regular-file check after opening
// remains.
const noFollow = 0
