//go:build linux

package slowfs

import (
	"context"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// Share is a mounted model share.
type Share struct {
	// Dir is where the share is mounted.
	Dir  string
	held benchutil.InFlight // the requests being held
}

// hold holds one request for d, counted in held.
func hold(held *benchutil.InFlight, d time.Duration) {
	defer held.Enter()()
	time.Sleep(d)
}

// Peak is the most requests the share has held at once so far: how many
// its readers kept in flight.
func (s *Share) Peak() int { return int(s.held.Most()) }

// ResetPeak forgets the peak so far.
func (s *Share) ResetPeak() { s.held.Reset() }

// Mount mounts dir at a new temporary folder through FUSE, each lookup,
// open and read of it held for delay; it is unmounted when tb ends. tb
// is skipped, saying why, when FUSE cannot be mounted here. Entries and attributes are cached for a second, as an NFS
// client does; file data is read again at each open (close-to-open).
// The server answers at least 16 requests at once.
func Mount(tb testing.TB, dir string, delay time.Duration) *Share {
	tb.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		tb.Skipf("SKIPPED: no FUSE here (%v): the network-share model needs /dev/fuse", err)
	}
	share := &Share{}
	lr, err := fs.NewLoopbackRoot(dir)
	if err != nil {
		tb.Fatal(err)
	}
	inner := lr.(*fs.LoopbackNode)
	rn := &node{LoopbackNode: inner, delay: delay, h: &share.held}
	inner.RootData.RootNode = rn
	mnt := tb.TempDir()
	sec := time.Second
	srv, err := mountWithReaders(mnt, rn, &fs.Options{
		EntryTimeout: &sec, AttrTimeout: &sec, NegativeTimeout: &sec,
		MountOptions: fuse.MountOptions{
			DirectMount: true, FsName: "slowfs", Name: "slowfs",
			// Listings come in one round trip per batch of names, as
			// NFS's READDIR does, not a lookup per name.
			DisableReadDirPlus: true,
		},
	})
	if err != nil {
		tb.Skipf("SKIPPED: cannot mount FUSE here (%v): the network-share model needs root or fusermount", err)
	}
	tb.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			tb.Errorf("slowfs: unmount %s: %v", mnt, err)
		}
	})
	share.Dir = mnt
	return share
}

// mountMu keeps two mounts from changing GOMAXPROCS at once.
var mountMu sync.Mutex

// mountWithReaders mounts with the server answering at least 16 requests
// at once: go-fuse reads the device on as many goroutines as GOMAXPROCS
// (16 at most) and answers on them, and a held request holds its
// goroutine, so on this 2-core machine two held requests would stop the
// share — unlike the file servers it models.
func mountWithReaders(mnt string, root fs.InodeEmbedder, opts *fs.Options) (*fuse.Server, error) {
	mountMu.Lock()
	defer mountMu.Unlock()
	prev := runtime.GOMAXPROCS(16)
	defer runtime.GOMAXPROCS(prev)
	return fs.Mount(mnt, root, opts)
}

// node is a loopback node whose lookups and opens are held; every node
// below it is one too (WrapChild).
type node struct {
	*fs.LoopbackNode
	delay time.Duration
	h     *benchutil.InFlight
}

var (
	_ fs.NodeLookuper    = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeWrapChilder = (*node)(nil)
)

func (n *node) WrapChild(_ context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), delay: n.delay, h: n.h}
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	hold(n.h, n.delay)
	return n.LoopbackNode.Lookup(ctx, name, out)
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	hold(n.h, n.delay)
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return fh, fl, errno
	}
	return &file{FileHandle: fh, delay: n.delay, h: n.h}, fl, 0
}

// file holds each read of a loopback file handle.
type file struct {
	fs.FileHandle
	delay time.Duration
	h     *benchutil.InFlight
}

func (f *file) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	hold(f.h, f.delay)
	return f.FileHandle.(fs.FileReader).Read(ctx, dest, off)
}

func (f *file) Release(ctx context.Context) syscall.Errno {
	return f.FileHandle.(fs.FileReleaser).Release(ctx)
}

func (f *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return f.FileHandle.(fs.FileGetattrer).Getattr(ctx, out)
}

func (f *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return f.FileHandle.(fs.FileLseeker).Lseek(ctx, off, whence)
}
