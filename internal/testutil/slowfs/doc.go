// Package slowfs mounts a folder again through FUSE with every lookup,
// open and read held for a chosen delay: a model of a network share
// (NFS, SMB) on this machine, which has none, to test and time what
// custody does with a matter on one. Linux only, and only where FUSE can
// be mounted (root, /dev/fuse): elsewhere its tests are skipped, saying so.
package slowfs
