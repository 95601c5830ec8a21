package backends_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/s3util"
)

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		location string
		opts     evidence.Options
		want     error
	}{
		{"empty", "", evidence.Options{}, evidence.ErrBadLocation},
		{"empty file url", "file://", evidence.Options{}, evidence.ErrBadLocation},
		{"not a directory", file, evidence.Options{}, evidence.ErrBadLocation},
		{"unknown scheme", "gs://bucket/x", evidence.Options{}, evidence.ErrUnknownScheme},
		{"not a scheme", "./my://dir", evidence.Options{}, evidence.ErrBadLocation},
		{"empty scheme", "://x", evidence.Options{}, evidence.ErrBadLocation},
		{"empty bucket", "s3://", evidence.Options{}, s3util.ErrBadURL},
		{"legal hold on a folder", t.TempDir(), evidence.Options{LegalHold: true}, evidence.ErrNoObjectLock},
		{"bad bucket", "s3://UPPER/x", evidence.Options{}, nil},
		{"dotdot prefix", "s3://bucket/a/../b", evidence.Options{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := backends.Open(ctx, tt.location, tt.opts)
			if err == nil {
				s.Close()
				t.Fatalf("open %q succeeded", tt.location)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("open %q: err = %v, want %v", tt.location, err, tt.want)
			}
		})
	}
}

// TestUnknownSchemeNamesKnown: a user who mistypes a scheme learns what
// this custody can open.
func TestUnknownSchemeNamesKnown(t *testing.T) {
	_, err := backends.Open(context.Background(), "gcs://bucket/x", evidence.Options{})
	if !errors.Is(err, evidence.ErrUnknownScheme) || !errors.Is(err, evidence.ErrBadLocation) {
		t.Fatalf("err = %v, want ErrUnknownScheme (and ErrBadLocation)", err)
	}
	for _, want := range []string{`"gcs"`, "file (DIR or file://DIR)", "s3 (s3://bucket/prefix)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestSchemes(t *testing.T) {
	if got, want := strings.Join(backends.New().Schemes(), ","), "file,s3"; got != want {
		t.Errorf("schemes = %s, want %s", got, want)
	}
}

func TestNormalize(t *testing.T) {
	dir := t.TempDir()
	abs, err := filepath.Abs("rel/ev")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{dir, dir},
		{"file://" + dir, dir},
		{"FILE://" + dir, dir},
		{"rel/ev", abs},
		{"s3://bucket/p/q/", "s3://bucket/p/q"},
		{"S3://bucket", "s3://bucket"},
	}
	reg := backends.New()
	for _, tt := range tests {
		got, err := reg.Normalize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "file://", "s3://", "s3://UPPER/x", "gs://b", "1x://y"} {
		if got, err := reg.Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		}
	}
	// Normalizing creates nothing.
	if _, err := os.Stat(filepath.Join(filepath.Dir(abs))); err == nil {
		t.Errorf("Normalize created %s", filepath.Dir(abs))
	}
}

// TestOpenedURLIsNormalized: what a ledger records (Normalize) is what the
// store reports once open, so the two compare equal.
func TestOpenedURLIsNormalized(t *testing.T) {
	reg := backends.New()
	loc := "file://" + filepath.Join(t.TempDir(), "ev") + "/"
	s, err := reg.Open(context.Background(), loc, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := reg.Normalize(loc)
	if err != nil || n != s.URL() {
		t.Errorf("Normalize = %q, %v; URL() = %q", n, err, s.URL())
	}
}
