package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/folder"
	"github.com/custodyhq/custody/internal/evidence/s3store"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/testutil/ledgertest"
	"github.com/custodyhq/custody/internal/testutil/s3test"
	"github.com/custodyhq/custody/internal/verify"
)

// storeKit is an evidence store and a way to write and delete its files
// behind its back, as another program would.
type storeKit struct {
	store  evidence.Store
	plant  func(t *testing.T, name string, data []byte)
	remove func(t *testing.T, name string)
}

func folderKit(t *testing.T) storeKit {
	dir := filepath.Join(t.TempDir(), "evidence")
	store, err := folder.Open(dir, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	p := func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
	return storeKit{store: store,
		plant: func(t *testing.T, name string, data []byte) {
			if err := os.MkdirAll(filepath.Dir(p(name)), 0o755); err != nil {
				t.Fatal(err)
			}
			os.Remove(p(name)) // custody's files are read-only
			if err := os.WriteFile(p(name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
		remove: func(t *testing.T, name string) {
			if err := os.Remove(p(name)); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func s3Kit(t *testing.T) storeKit {
	srv := s3test.Start(t)
	c := srv.Client(t)
	bucket := srv.Bucket(t, false)
	store, err := s3store.Open(context.Background(), "s3://"+bucket+"/matter-1", s3store.Options{Client: c}, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) *string { return aws.String(s3util.Join("matter-1", name)) }
	return storeKit{store: store,
		plant: func(t *testing.T, name string, data []byte) {
			if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: key(name), Body: bytes.NewReader(data)}); err != nil {
				t.Fatal(err)
			}
		},
		remove: func(t *testing.T, name string) {
			if _, err := c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: key(name)}); err != nil {
				t.Fatal(err)
			}
		},
	}
}

var storeKits = []struct {
	name string
	kit  func(t *testing.T) storeKit
}{{"folder", folderKit}, {"s3", s3Kit}}

// runEnd is the entry an export or refetch run ends with; the run then
// signs a checkpoint and writes its copy beside the evidence.
func runEnd(t *testing.T) leaf.Entry {
	d, err := leaf.EncodeDetail(&leaf.RunDetail{Event: leaf.RunEnd, Status: "done", Accounting: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Entry{Kind: leaf.KindRun, RunID: "run-0001", Detail: d}
}

// endRun appends a run's end, signs the checkpoint over it and writes its
// copy beside the evidence, as internal/export does.
func (f *fixture) endRun(t *testing.T, store evidence.Store) uint64 {
	if _, err := f.l.Append(f.ctx, runEnd(t)); err != nil {
		t.Fatal(err)
	}
	cp := f.checkpoint()
	if err := store.PutFile(f.ctx, fmt.Sprintf("checkpoints/%d.note", cp.Size), cp.Note); err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

func findingLines(fs []verify.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestVerifyEvidenceStoreStrict is the review's read-only copy of a
// matter with files added to and changed in its evidence folder (or
// bucket): verify names every file that is not custody's, fails on an
// object whose bytes do not hash to its name even when nothing
// references it (no interrupted run leaves one: objects are named only
// once their bytes are durable), and checks the checkpoint copies export
// writes beside the evidence against the ledger.
func TestVerifyEvidenceStoreStrict(t *testing.T) {
	for _, k := range storeKits {
		t.Run(k.name, func(t *testing.T) {
			kit := k.kit(t)
			f := newFixture(t)
			store := kit.store
			var sums []hashchain.Hash
			for i := range 3 {
				ref, err := store.Put(f.ctx, fmt.Appendf(nil, `{"entities":[%d]}`, i))
				if err != nil {
					t.Fatal(err)
				}
				sums = append(sums, ref.Sum)
			}
			orphan, err := store.Put(f.ctx, []byte("stored, then the run stopped"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.l.Append(f.ctx, message("conv-a", 0, sums[0]), message("conv-a", 1, sums[1])); err != nil {
				t.Fatal(err)
			}
			first := f.endRun(t, store)
			if _, err := f.l.Append(f.ctx, message("conv-b", 0, sums[2])); err != nil {
				t.Fatal(err)
			}
			second := f.endRun(t, store)
			if _, err := f.l.Append(f.ctx, message("conv-c", 0, sums[0])); err != nil {
				t.Fatal(err)
			}
			f.checkpoint() // custody checkpoint: no copy

			rep := f.verify(verify.Options{Evidence: evidence.ReadOnly(store), NoDerive: true})
			if !rep.OK || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, orphan.Sum.String()) {
				t.Fatalf("the store as custody left it: OK %v, findings:\n%swarnings:\n%s", rep.OK, findingLines(rep.Findings), findingLines(rep.Warnings))
			}

			// The review's changes.
			bad := hashchain.Hash{0xab, 0xab, 0xab}
			misplaced := fmt.Sprintf("sha256/03/%s", bad)
			for name, data := range map[string]string{
				"sha256/03/extra.txt":   "x",
				"stray.bin":             "y",
				"sha256/zz/foo":         "z",
				misplaced:               "w",
				evidence.Key(bad):       "v", // in its own shard, not its bytes
				"sha256/ab/.tmp-123":    "half written",
				"checkpoints/9999.note": "bogus",
			} {
				kit.plant(t, name, []byte(data))
			}
			note, err := store.GetFile(f.ctx, fmt.Sprintf("checkpoints/%d.note", first))
			if err != nil {
				t.Fatal(err)
			}
			kit.plant(t, fmt.Sprintf("checkpoints/%d.note", first), append(note, "corrupt\n"...))
			kit.remove(t, fmt.Sprintf("checkpoints/%d.note", second))

			rep = f.verify(verify.Options{Evidence: evidence.ReadOnly(store), NoDerive: true})
			findings, warnings := findingLines(rep.Findings), findingLines(rep.Warnings)
			if rep.OK {
				t.Errorf("verify holds the damaged store good; warnings:\n%s", warnings)
			}
			url := store.URL()
			for _, want := range []string{
				fmt.Sprintf("checkpoint %s/checkpoints/%d.note: evidence: this copy of a checkpoint beside the evidence is not a checkpoint signed by the verifier key", url, first),
				fmt.Sprintf("checkpoint %s/checkpoints/9999.note: evidence: this copy of a checkpoint beside the evidence is not a checkpoint signed by the verifier key", url),
				fmt.Sprintf("evidence: evidence object %s is referenced by no entry, and the bytes stored hash to %s, not to its name", bad, hashchain.Hash(sha256Sum("v"))),
			} {
				if !strings.Contains(findings, want) {
					t.Errorf("no finding %q in\n%s", want, findings)
				}
			}
			if n := len(rep.Findings); n != 3 {
				t.Errorf("%d findings, want 3:\n%s", n, findings)
			}
			for _, want := range []string{
				fmt.Sprintf("misplaced objects in %s (1), named as evidence objects but not where custody puts them: %s (its place: %s)", url, misplaced, evidence.Key(bad)),
				fmt.Sprintf("files in %s that are not custody's (3; ", url),
				"sha256/03/extra.txt, sha256/zz/foo, stray.bin; not evidence, not read",
				fmt.Sprintf("temporary files of unfinished writes in %s (1): sha256/ab/.tmp-123;", url),
				fmt.Sprintf("has no copy in %s: #2 (size %d)", url, second),
				fmt.Sprintf("1 evidence object is referenced by no entry (e.g. %s), each re-hashed to its name", orphan.Sum),
			} {
				if !strings.Contains(warnings, want) {
					t.Errorf("no warning %q in\n%s", want, warnings)
				}
			}
		})
	}
}

// TestVerifyCheckpointCopies: a checkpoint copy beside the evidence is a
// checkpoint kept apart. A ledger truncated with its last checkpoint row
// deleted, or rewritten and re-signed by the key's holder, verifies clean
// alone (nothing left in it says otherwise); the copies name what was done.
func TestVerifyCheckpointCopies(t *testing.T) {
	for _, k := range storeKits {
		t.Run(k.name, func(t *testing.T) {
			for _, c := range []struct {
				name   string
				tamper func(f *fixture, first, second uint64)
				want   func(url string, first, second uint64) string
				warn   func(first, second uint64) string
			}{
				{"truncated",
					func(f *fixture, first, _ uint64) {
						f.raw(`DROP TRIGGER checkpoints_append_only_delete`, `DROP TRIGGER entries_append_only_delete`,
							fmt.Sprintf(`DELETE FROM entries WHERE seq >= %d`, first), fmt.Sprintf(`DELETE FROM checkpoints WHERE size > %d`, first))
						f.reopen()
					},
					func(url string, first, second uint64) string {
						return fmt.Sprintf("checkpoint %s/checkpoints/%d.note: truncated: ledger truncated: checkpoint has %d entries, ledger has %d", url, second, second, first)
					},
					func(_, second uint64) string {
						return fmt.Sprintf("a checkpoint of size %d signed by the verifier key, which the ledger does not store", second)
					}},
				{"rewritten and re-signed",
					func(f *fixture, _, _ uint64) {
						f.l.Close()
						f.l = nil
						if err := ledgertest.Rewrite(f.ctx, f.path, f.signer, 2, func(e *leaf.Entry) { e.RunID = "run-0002" }); err != nil {
							f.t.Fatal(err)
						}
						f.reopen()
					},
					func(url string, first, _ uint64) string {
						return fmt.Sprintf("checkpoint %s/checkpoints/%d.note: checkpoint_root: history rewritten: the root of the first %d entries is", url, first, first)
					},
					nil},
			} {
				t.Run(c.name, func(t *testing.T) {
					store := k.kit(t).store
					f := newFixture(t)
					for i := range 4 { // the objects appendN's entries name
						if _, err := store.Put(f.ctx, fmt.Appendf(nil, "evidence conv-%02d", i)); err != nil {
							t.Fatal(err)
						}
					}
					f.appendN(6)
					first := f.endRun(t, store)
					f.appendN(6)
					second := f.endRun(t, store)
					c.tamper(f, first, second)
					if rep := f.verify(verify.Options{}); !rep.OK {
						t.Fatalf("the ledger alone: %s", findingLines(rep.Findings))
					}
					rep := f.verify(verify.Options{Evidence: evidence.ReadOnly(store), NoDerive: true})
					findings, warnings := findingLines(rep.Findings), findingLines(rep.Warnings)
					if want := c.want(store.URL(), first, second); rep.OK || len(rep.Findings) != 1 || !strings.Contains(findings, want) {
						t.Errorf("findings:\n%swant %q", findings, want)
					}
					if c.warn != nil {
						if want := c.warn(first, second); !strings.Contains(warnings, want) {
							t.Errorf("warnings:\n%swant %q", warnings, want)
						}
					}
				})
			}
		})
	}
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
