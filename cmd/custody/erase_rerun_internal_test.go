package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

// TestRerunFlagsAbsolute: the journal's command names every folder store
// and key by an absolute path, however erase was given it — a relative
// file:// location too (a reviewer's finding on 1fce223: it was kept
// relative, so the command run from another folder named another store;
// and FILE://, whose scheme the store registry reads in any case).
func TestRerunFlagsAbsolute(t *testing.T) {
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--evidence=file://evidence", "--key=k.key"}, []string{"--evidence=" + filepath.Join(wd, "evidence"), "--key=" + filepath.Join(wd, "k.key")}},
		{[]string{"--evidence=evidence"}, []string{"--evidence=" + filepath.Join(wd, "evidence")}},
		{[]string{"--evidence=file:///srv/ev"}, []string{"--evidence=/srv/ev"}},
		{[]string{"--evidence=FILE://evidence"}, []string{"--evidence=" + filepath.Join(wd, "evidence")}},
		{[]string{"--evidence=s3://bucket/prefix"}, []string{"--evidence=s3://bucket/prefix"}},
	} {
		o := &eraseOptions{}
		fs := pflag.NewFlagSet("erase", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := rerunFlags(fs); !slices.Equal(got, tc.want) {
			t.Errorf("%q: journal flags %q, want %q", tc.args, got, tc.want)
		}
	}
}
