package evidence

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Backend is one kind of evidence store, opened by the scheme of its
// locations. Each lives in a package of its own (internal/evidence/folder,
// internal/evidence/s3store) and owns its options: a Backend value carries
// them, AddFlags declares them as flags bound to it, and Open uses them.
type Backend interface {
	// Scheme is the URL scheme of this backend's locations, lower-case:
	// "s3" for s3://bucket/prefix. The "file" backend also opens
	// locations without a scheme (plain paths).
	Scheme() string
	// Example is a location in this backend's form ("s3://bucket/prefix"),
	// for help texts and error messages.
	Example() string
	// AddFlags declares the backend's own options on fs, bound to this
	// value. Their names start with the scheme ("--s3-endpoint") so that
	// backends never clash.
	AddFlags(fs *pflag.FlagSet)
	// Normalize returns location's canonical form (the one the store's URL
	// returns, and the one a ledger records) without opening or creating
	// anything. location has this backend's scheme, lower-cased, or none.
	Normalize(location string) (string, error)
	// Open opens the store at location (as for Normalize). It must honour
	// every field of opts, or fail.
	Open(ctx context.Context, location string, opts Options) (Store, error)
}

// FileScheme is the scheme of plain paths: a location without "://" is
// opened by the backend of this scheme.
const FileScheme = "file"

// Registry chooses a Backend by the scheme of a location. It is a fixed
// table built once (internal/evidence/backends lists custody's); there is
// no global registration, so what a program can open is visible in one
// place and tests can build registries of their own.
type Registry struct {
	backends []Backend // in the order given: help and errors list them so
}

// NewRegistry returns a registry of backends. Two backends with one scheme
// are a programming error, and panic.
func NewRegistry(backends ...Backend) *Registry {
	r := &Registry{}
	for _, b := range backends {
		if _, dup := r.Backend(b.Scheme()); dup {
			panic(fmt.Sprintf("evidence: two backends for scheme %q", b.Scheme()))
		}
		r.backends = append(r.backends, b)
	}
	return r
}

// Schemes lists the schemes the registry opens, in registration order.
func (r *Registry) Schemes() []string {
	s := make([]string, len(r.backends))
	for i, b := range r.backends {
		s[i] = b.Scheme()
	}
	return s
}

// Backend returns the backend of scheme.
func (r *Registry) Backend(scheme string) (Backend, bool) {
	i := slices.IndexFunc(r.backends, func(b Backend) bool { return b.Scheme() == scheme })
	if i < 0 {
		return nil, false
	}
	return r.backends[i], true
}

// AddFlags declares every backend's own flags on fs.
func (r *Registry) AddFlags(fs *pflag.FlagSet) {
	for _, b := range r.backends {
		b.AddFlags(fs)
	}
}

// Lookup returns the backend that opens location, and location with its
// scheme lower-cased. A location without "://" is a path, opened by the
// "file" backend.
func (r *Registry) Lookup(location string) (Backend, string, error) {
	scheme := FileScheme
	if s, rest, isURL := strings.Cut(location, "://"); isURL {
		if !validScheme(s) {
			return nil, "", fmt.Errorf("evidence: %q: %w: %q is not a URL scheme (a folder path must not contain \"://\")", location, ErrBadLocation, s)
		}
		scheme = strings.ToLower(s)
		location = scheme + "://" + rest
	}
	b, ok := r.Backend(scheme)
	if !ok {
		return nil, "", fmt.Errorf("evidence: %q: %w %q: this custody opens %s", location, ErrUnknownScheme, scheme, r.known())
	}
	return b, location, nil
}

// known describes the registry's schemes for error messages.
func (r *Registry) known() string {
	var parts []string
	for _, b := range r.backends {
		parts = append(parts, fmt.Sprintf("%s (%s)", b.Scheme(), b.Example()))
	}
	if len(parts) == 0 {
		return "nothing (no backends)"
	}
	return strings.Join(parts, ", ")
}

// Normalize returns location's canonical form, as its store's URL would
// return it, without opening anything: a ledger records this form, and two
// spellings of one store compare equal in it.
func (r *Registry) Normalize(location string) (string, error) {
	b, loc, err := r.Lookup(location)
	if err != nil {
		return "", err
	}
	n, err := b.Normalize(loc)
	if err != nil {
		return "", fmt.Errorf("evidence: %q: %w", location, err)
	}
	return n, nil
}

// Open opens the store at location with the backend of its scheme.
func (r *Registry) Open(ctx context.Context, location string, opts Options) (Store, error) {
	b, loc, err := r.Lookup(location)
	if err != nil {
		return nil, err
	}
	return b.Open(ctx, loc, opts)
}

// validScheme reports whether s is an RFC 3986 scheme:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}
