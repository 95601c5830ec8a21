package s3test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestLookup(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // nothing on PATH
	tools := t.TempDir()
	repo := t.TempDir()
	deep := filepath.Join(repo, "internal", "pkg")
	for _, d := range []string{deep, filepath.Join(repo, ".tools", "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := lookup(tools, deep); got != "" {
		t.Fatalf("lookup with no binary anywhere = %q", got)
	}
	repoBin := filepath.Join(repo, ".tools", "bin", "versitygw")
	if err := os.WriteFile(repoBin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := lookup(tools, deep); got != repoBin {
		t.Errorf("lookup = %q, want the repo's %q", got, repoBin)
	}
	toolsBin := filepath.Join(tools, "versitygw")
	if err := os.WriteFile(toolsBin, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := lookup(tools, deep); got != repoBin {
		t.Errorf("lookup took a non-executable %q", got)
	}
	if err := os.Chmod(toolsBin, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := lookup(tools, deep); got != toolsBin {
		t.Errorf("lookup = %q, want $CUSTODY_TOOLS's %q first", got, toolsBin)
	}
}

// fakeTB records how requireBinary ends a test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped, f.msg = true, args[0].(string)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, args[0].(string)
	runtime.Goexit()
}

func TestRequireBinaryMissing(t *testing.T) {
	run := func() *fakeTB {
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			requireBinary(f, "")
		}()
		<-done
		return f
	}
	t.Setenv("CI", "")
	if f := run(); !f.skipped || f.failed || f.msg != "SKIPPING S3 TEST: "+MissingMessage {
		t.Errorf("outside CI: skipped %v failed %v msg %q", f.skipped, f.failed, f.msg)
	}
	t.Setenv("CI", "true")
	if f := run(); !f.failed || f.skipped || f.msg != MissingMessage {
		t.Errorf("under CI: skipped %v failed %v msg %q", f.skipped, f.failed, f.msg)
	}
	if got := requireBinary(t, "/x/versitygw"); got != "/x/versitygw" {
		t.Errorf("requireBinary with a binary = %q", got)
	}
}
