// Package rules holds tests that keep the code base's shape: the dependency
// rules of DESIGN.md §3 and a doc comment on every package. It has no code.
package rules
