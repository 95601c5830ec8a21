package verify_test

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/sim/tsasim"
	"github.com/custodyhq/custody/internal/testutil/appendix"
	"github.com/custodyhq/custody/internal/testutil/needtool"
	"github.com/custodyhq/custody/internal/tsa"
	"github.com/custodyhq/custody/internal/verify"
	"github.com/custodyhq/custody/internal/witness"
)

// attestFixture is a ledger of two checkpoints (sizes 4 and 7), each
// timestamped by a test TSA and cosigned by a witness.
type attestFixture struct {
	*fixture
	tsa      *tsasim.Server
	roots    string // PEM file
	wkey     string // the witness's verifier key
	wkeyFile string
	w        *witness.Witness
	cps      []ledger.StoredCheckpoint
}

func newAttestFixture(t *testing.T) *attestFixture {
	t.Helper()
	return newAttestFixtureWith(t, tsasim.Options{})
}

// newAttestFixtureWith is newAttestFixture with a test TSA started with
// opts.
func newAttestFixtureWith(t *testing.T, opts tsasim.Options) *attestFixture {
	t.Helper()
	s, err := tsasim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	dir := t.TempDir()
	a := &attestFixture{fixture: newFixture(t), tsa: s, roots: filepath.Join(dir, "roots.pem"), wkeyFile: filepath.Join(dir, "w.pub")}
	os.WriteFile(a.roots, s.RootPEM, 0o644)
	skey, vkey, err := witness.GenerateKey("w.example")
	if err != nil {
		t.Fatal(err)
	}
	a.wkey = vkey
	os.WriteFile(a.wkeyFile, []byte(vkey+"\n"), 0o644)
	if a.w, err = witness.New(skey, []string{a.l.VerifierKey()}, filepath.Join(dir, "wstate")); err != nil {
		t.Fatal(err)
	}
	a.appendN(4)
	a.stamp(a.checkpoint(), true)
	a.appendN(3)
	a.stamp(a.checkpoint(), true)
	return a
}

// stamp timestamps cp and, if cosign, has the witness cosign it.
func (a *attestFixture) stamp(cp ledger.StoredCheckpoint, cosign bool) {
	a.t.Helper()
	tok, err := (&tsa.Client{}).Timestamp(a.ctx, a.tsa.URL, tsa.Imprint(cp.Note))
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.l.AddTimestamp(a.ctx, cp.ID, a.tsa.URL, tok, ""); err != nil {
		a.t.Fatal(err)
	}
	a.cps = append(a.cps, cp)
	if !cosign {
		return
	}
	var old uint64
	if len(a.cps) > 1 {
		old = a.cps[len(a.cps)-2].Size
	}
	proof, err := a.l.ConsistencyProof(a.ctx, old, cp.Size)
	if err != nil {
		a.t.Fatal(err)
	}
	sigs, err := a.w.Add(witness.Request{OldSize: old, Proof: proof, Checkpoint: cp.Note})
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.l.AddCosignature(a.ctx, cp.ID, "w.example", string(sigs)); err != nil {
		a.t.Fatal(err)
	}
}

func (a *attestFixture) opts() verify.Options {
	roots, _, err := tsa.ReadRoots(a.roots)
	if err != nil {
		a.t.Fatal(err)
	}
	return verify.Options{TSARoots: roots, Witnesses: []string{a.wkey}}
}

func TestAttestations(t *testing.T) {
	python := independentVerifier(t)
	agree := func(t *testing.T, a *attestFixture, want string) verify.Report {
		t.Helper()
		rep := a.verify(a.opts())
		first := ""
		if f := rep.First(); f != nil {
			first = fmt.Sprintf("checkpoint %s: %s", f.Checkpoint, f.Check)
		}
		if first != want {
			t.Fatalf("first finding %q (%v), want %q", first, rep.Findings, want)
		}
		if python == nil {
			return rep
		}
		out, err := python("ledger", a.path, a.l.VerifierKey(), "--tsa-roots", a.roots, "--witness", a.wkeyFile)
		if want == "" {
			if err != nil || !strings.HasPrefix(out, "OK ") {
				t.Fatalf("the independent verifier: %v\n%s", err, out)
			}
		} else if !strings.HasPrefix(out, "FAIL "+want+": ") {
			t.Fatalf("the independent verifier says\n%s\nwant FAIL %s", out, want)
		}
		return rep
	}
	t.Run("untouched", func(t *testing.T) {
		a := newAttestFixture(t)
		rep := agree(t, a, "")
		if len(rep.CheckpointTimes) != 2 || !rep.CheckpointTimes[1].Chained || rep.CheckpointTimes[1].Size != 7 {
			t.Fatalf("times %+v", rep.CheckpointTimes)
		}
		if len(rep.Witnessed) != 2 || len(rep.Witnessed[1].Witnesses) != 1 {
			t.Fatalf("witnessed %+v", rep.Witnessed)
		}
		if rep.CheckpointTimes[1].Roots != verify.RootsGiven || len(rep.Warnings) != 0 {
			t.Fatalf("times %+v, warnings %v", rep.CheckpointTimes, rep.Warnings)
		}
		// Without roots: checked for imprint and signature, with a warning.
		rep = a.verify(verify.Options{})
		if !rep.OK || len(rep.Warnings) != 1 || rep.CheckpointTimes[0].Chained || rep.CheckpointTimes[0].Roots != verify.RootsNone {
			t.Fatalf("no roots: %+v", rep)
		}
		// The matter's own roots, the genuine ones: chained to them, but
		// the time is a claim, not proven.
		roots := a.opts().TSARoots
		rep = a.verify(verify.Options{MatterTSARoots: roots})
		if !rep.OK || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, "claimed, not proven; pass --tsa-roots") {
			t.Fatalf("the matter's roots: %v %v", rep.Findings, rep.Warnings)
		}
		for _, ct := range rep.CheckpointTimes {
			if ct.Chained || ct.Roots != verify.RootsMatter {
				t.Fatalf("the matter's roots: times %+v", rep.CheckpointTimes)
			}
		}
		// Given roots win over the matter's.
		rep = a.verify(verify.Options{TSARoots: roots, MatterTSARoots: x509.NewCertPool()})
		if !rep.OK || len(rep.Warnings) != 0 || !rep.CheckpointTimes[0].Chained {
			t.Fatalf("given roots: %v %v %+v", rep.Findings, rep.Warnings, rep.CheckpointTimes)
		}
	})
	// agreeWithout runs both verifiers with the options given (no roots,
	// no witnesses unless given) and expects the same first finding.
	agreeWithout := func(t *testing.T, a *attestFixture, opts verify.Options, args []string, want string) verify.Report {
		t.Helper()
		rep := a.verify(opts)
		first := ""
		if f := rep.First(); f != nil {
			first = fmt.Sprintf("checkpoint %s: %s", f.Checkpoint, f.Check)
		}
		if first != want {
			t.Fatalf("first finding %q (%v), want %q", first, rep.Findings, want)
		}
		if python == nil {
			return rep
		}
		out, err := python(append([]string{"ledger", a.path, a.l.VerifierKey()}, args...)...)
		if want == "" {
			if err != nil || !strings.HasPrefix(out, "OK ") {
				t.Fatalf("the independent verifier: %v\n%s", err, out)
			}
		} else if !strings.HasPrefix(out, "FAIL "+want+": ") {
			t.Fatalf("the independent verifier says\n%s\nwant FAIL %s", out, want)
		}
		return rep
	}
	// Without roots, every token is still checked for its imprint and its
	// signature (docs/ledger-format.md): a token moved to another
	// checkpoint, or with its signature altered, fails.
	t.Run("tokens swapped, no roots", func(t *testing.T) {
		a := newAttestFixture(t)
		ts, err := a.l.Timestamps(a.ctx)
		if err != nil || len(ts) != 2 {
			t.Fatalf("%d tokens, %v", len(ts), err)
		}
		a.raw(`DROP TRIGGER checkpoint_timestamps_append_only_update`,
			fmt.Sprintf(`UPDATE checkpoint_timestamps SET token = CASE id WHEN %d THEN X'%x' ELSE X'%x' END`, ts[0].ID, ts[1].Token, ts[0].Token))
		a.reopen()
		rep := agreeWithout(t, a, verify.Options{}, nil, "checkpoint stored #1: timestamp")
		if len(rep.Findings) != 2 {
			t.Fatalf("findings %v, want both checkpoints' tokens", rep.Findings)
		}
	})
	t.Run("token signature altered, no roots", func(t *testing.T) {
		a := newAttestFixture(t)
		// The token's last bytes are its signature value.
		a.raw(`DROP TRIGGER checkpoint_timestamps_append_only_update`,
			`UPDATE checkpoint_timestamps SET token = CAST(substr(token, 1, length(token) - 10) || CASE WHEN substr(token, length(token) - 9, 1) = x'41' THEN x'42' ELSE x'41' END || substr(token, length(token) - 8) AS BLOB) WHERE checkpoint_id = 2`)
		a.reopen()
		agreeWithout(t, a, verify.Options{}, nil, "checkpoint stored #2: timestamp")
	})
	t.Run("the matter's roots: a time claimed, not proven", func(t *testing.T) {
		a := newAttestFixture(t)
		pem, err := os.ReadFile(a.roots)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.l.SetState(a.ctx, "tsa_roots", string(pem)); err != nil {
			t.Fatal(err)
		}
		rep := agreeWithout(t, a, verify.Options{MatterTSARoots: a.opts().TSARoots}, nil, "")
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, "claimed, not proven") {
			t.Fatalf("warnings %v", rep.Warnings)
		}
		if python != nil {
			if out, _ := python("ledger", a.path, a.l.VerifierKey()); !strings.Contains(out, "\nWARN timestamp: ") || !strings.Contains(out, "claimed, not proven") {
				t.Fatalf("the independent verifier does not say the times are claimed:\n%s", out)
			}
		}
		// Roots the matter names that the tokens do not chain to: a
		// failure all the same.
		other, err := os.ReadFile(tsasimRoot(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.l.SetState(a.ctx, "tsa_roots", string(other)); err != nil {
			t.Fatal(err)
		}
		otherPool, err := tsa.ParseRoots(other)
		if err != nil {
			t.Fatal(err)
		}
		agreeWithout(t, a, verify.Options{MatterTSARoots: otherPool}, nil, "checkpoint stored #1: timestamp")
	})
	t.Run("certificate expired since, valid at genTime", func(t *testing.T) {
		// A genuine token stays good after its authority's certificates
		// expire: they are checked at the token's genTime, not now.
		const lifetime = 3 * time.Second
		start := time.Now()
		a := newAttestFixtureWith(t, tsasim.Options{CertLifetime: lifetime})
		if time.Since(start) > lifetime-time.Second {
			t.Skip("the machine is too slow to stamp both checkpoints before the certificates expire")
		}
		time.Sleep(time.Until(start.Add(lifetime + 1500*time.Millisecond)))
		rep := agree(t, a, "")
		if len(rep.CheckpointTimes) != 2 || !rep.CheckpointTimes[1].Chained {
			t.Fatalf("times %+v", rep.CheckpointTimes)
		}
	})
	t.Run("forged cosignature of an earlier checkpoint", func(t *testing.T) {
		// Every cosignature by a given witness must verify, not only the
		// latest checkpoint's.
		a := newAttestFixture(t)
		cs, _ := a.l.Cosignatures(a.ctx)
		sig := []byte(cs[0].Signature)
		i := len(sig) - 10
		if sig[i] == 'A' {
			sig[i] = 'B'
		} else {
			sig[i] = 'A'
		}
		a.raw(`DROP TRIGGER checkpoint_cosignatures_append_only_update`,
			fmt.Sprintf(`UPDATE checkpoint_cosignatures SET signature = '%s' WHERE id = %d`, sig, cs[0].ID))
		a.reopen()
		agree(t, a, "checkpoint stored #1: witness")
	})
	t.Run("another authority's tokens, its root named by the matter", func(t *testing.T) {
		// Every token replaced by one from an authority of the
		// attacker's, whose root the attacker puts in the matter's
		// settings: no time is proven, and an auditor's roots fail them.
		a := newAttestFixture(t)
		mallory, err := tsasim.Start(tsasim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer mallory.Close()
		a.raw(`DROP TRIGGER checkpoint_timestamps_append_only_delete`, `DELETE FROM checkpoint_timestamps`)
		a.reopen()
		for _, cp := range a.cps {
			tok, err := (&tsa.Client{}).Timestamp(a.ctx, mallory.URL, tsa.Imprint(cp.Note))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.l.AddTimestamp(a.ctx, cp.ID, a.tsa.URL, tok, ""); err != nil {
				t.Fatal(err)
			}
		}
		theirs, err := tsa.ParseRoots(mallory.RootPEM)
		if err != nil {
			t.Fatal(err)
		}
		rep := a.verify(verify.Options{MatterTSARoots: theirs})
		if !rep.OK || len(rep.CheckpointTimes) != 2 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].Message, "roots the matter itself names") {
			t.Fatalf("%v %v %+v", rep.Findings, rep.Warnings, rep.CheckpointTimes)
		}
		for _, ct := range rep.CheckpointTimes {
			if ct.Chained || ct.Roots != verify.RootsMatter {
				t.Fatalf("a time chained to the matter's own roots is proven: %+v", ct)
			}
		}
		opts := a.opts()
		opts.MatterTSARoots = theirs
		if rep = a.verify(opts); rep.OK || rep.First().Check != verify.CheckTimestamp {
			t.Fatalf("with the auditor's roots: %v", rep.Findings)
		}
	})
	t.Run("token of another checkpoint", func(t *testing.T) {
		a := newAttestFixture(t)
		a.raw(`INSERT INTO checkpoint_timestamps (checkpoint_id, tsa, token, error, created_at) SELECT 2, tsa, token, '', created_at FROM checkpoint_timestamps WHERE checkpoint_id = 1`)
		a.reopen()
		agree(t, a, "checkpoint stored #2: timestamp")
	})
	t.Run("token edited", func(t *testing.T) {
		a := newAttestFixture(t)
		a.raw(`DROP TRIGGER checkpoint_timestamps_append_only_update`,
			`UPDATE checkpoint_timestamps SET token = CAST(substr(token, 1, 99) || CASE WHEN substr(token, 100, 1) = x'41' THEN x'42' ELSE x'41' END || substr(token, 101) AS BLOB) WHERE checkpoint_id = 1`)
		a.reopen()
		agree(t, a, "checkpoint stored #1: timestamp")
	})
	// A signer certificate another CA issued, or one unfit to sign
	// timestamps (RFC 3161 §2.3: timeStamping its only extended key
	// usage, and critical; RFC 5280 §4.2.1.12: a key usage, if any, of
	// digitalSignature and/or nonRepudiation alone), or one whose chain
	// has a CA certificate with a key usage lacking keyCertSign (RFC 5280
	// §4.2.1.3), refused by both verifiers, saying why (the independent
	// one says theirs when it is not says: it leaves the chain to openssl
	// ts -verify).
	for _, tc := range []struct {
		fault  tsasim.Fault
		says   string
		theirs string
	}{
		{tsasim.FaultUntrusted, "", ""},
		{tsasim.FaultNoEKU, "lacks the timeStamping extended key usage", ""},
		{tsasim.FaultEKUNotCrit, "in an extension not marked critical", ""},
		{tsasim.FaultEKUNotOnly, "has an extended key usage other than timeStamping", ""},
		{tsasim.FaultKUNotOnly, "has a key usage other than digitalSignature and nonRepudiation: keyEncipherment", ""},
		{tsasim.FaultCANoCertSign, "whose key usage lacks keyCertSign (it sets no bit)", "does not prove the checkpoint's time"},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			a := newAttestFixture(t)
			a.tsa.SetFault(tc.fault)
			a.appendN(1)
			a.stamp(a.checkpoint(), true)
			rep := agree(t, a, "checkpoint stored #3: timestamp")
			if !strings.Contains(rep.First().Message, tc.says) {
				t.Errorf("custody says %q, want it to say %q", rep.First().Message, tc.says)
			}
			if python == nil {
				return
			}
			if out, _ := python("ledger", a.path, a.l.VerifierKey(), "--tsa-roots", a.roots); !strings.Contains(out, cmp.Or(tc.theirs, tc.says)) {
				t.Errorf("the independent verifier says\n%s\nwant it to say %q", out, cmp.Or(tc.theirs, tc.says))
			}
		})
	}
	t.Run("a gap is a warning", func(t *testing.T) {
		a := newAttestFixture(t)
		a.appendN(1)
		cp := a.checkpoint()
		a.l.AddTimestamp(a.ctx, cp.ID, a.tsa.URL, nil, "503 Service Unavailable")
		a.stamp(cp, true)
		a.l.AddTimestamp(a.ctx, cp.ID, "http://down.example/", nil, "connection refused")
		rep := agree(t, a, "")
		if len(rep.Warnings) != 1 || rep.Warnings[0].Check != verify.CheckTimestampMissing || !strings.Contains(rep.Warnings[0].Message, "down.example") {
			t.Fatalf("warnings %v", rep.Warnings)
		}
	})
	t.Run("latest not cosigned", func(t *testing.T) {
		a := newAttestFixture(t)
		a.appendN(1)
		a.stamp(a.checkpoint(), false)
		rep := agree(t, a, "checkpoint stored #3: witness")
		// It names the last checkpoint a witness vouched for, and says
		// what the entries after it are: signed without the witnesses,
		// or shown to none (a fork), not only the latter.
		if msg := rep.First().Message; !strings.Contains(msg, "the latest that has them is stored #2 (size ") ||
			!strings.Contains(msg, "1 entry after it is vouched for by no witness") ||
			!strings.Contains(msg, "signed without the witnesses") || !strings.Contains(msg, "custody checkpoint --witness URL") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("proof files", func(t *testing.T) {
		if python == nil {
			t.Skip("no independent verifier here (python3 with cryptography, openssl)")
		}
		a := newAttestFixture(t)
		p, err := a.l.Prove(a.ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Timestamps) != 1 {
			t.Fatalf("the proof carries %d tokens", len(p.Timestamps))
		}
		js, _ := json.MarshalIndent(p, "", "  ")
		dir := t.TempDir()
		for name, data := range map[string][]byte{"p.json": js, "p.tlog-proof": leaf.MarshalTlogProof(p)} {
			file := filepath.Join(dir, name)
			os.WriteFile(file, data, 0o644)
			if out, err := python("proof", file, a.l.VerifierKey(), "--tsa-roots", a.roots, "--witness", a.wkeyFile); err != nil || !strings.HasPrefix(out, "OK ") {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
		}
		other := tsasimRoot(t)
		if out, err := python("proof", filepath.Join(dir, "p.json"), a.l.VerifierKey(), "--tsa-roots", other); err == nil {
			t.Fatalf("a token checked against another CA passes:\n%s", out)
		}
		// Without roots the token's signature is still checked.
		var pj map[string]any
		if err := json.Unmarshal(js, &pj); err != nil {
			t.Fatal(err)
		}
		tsj := pj["timestamps"].([]any)[0].(map[string]any)
		tok, err := base64.StdEncoding.DecodeString(tsj["token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		tok[len(tok)-10] ^= 0x01
		tsj["token"] = base64.StdEncoding.EncodeToString(tok)
		badTok, _ := json.Marshal(pj)
		os.WriteFile(filepath.Join(dir, "t.json"), badTok, 0o644)
		if out, err := python("proof", filepath.Join(dir, "t.json"), a.l.VerifierKey()); err == nil {
			t.Fatalf("a token whose signature was altered passes without roots:\n%s", out)
		}
		edited := bytes.Replace(leaf.MarshalTlogProof(p), []byte("index 5\n"), []byte("index 4\n"), 1)
		os.WriteFile(filepath.Join(dir, "e.tlog-proof"), edited, 0o644)
		if out, err := python("proof", filepath.Join(dir, "e.tlog-proof"), a.l.VerifierKey()); err == nil {
			t.Fatalf("an edited tlog-proof passes:\n%s", out)
		}
	})
	t.Run("last checkpoints deleted", func(t *testing.T) {
		// Their timestamps and cosignatures stay behind: one finding
		// names them, the other checkpoints are counted on it.
		a := newAttestFixture(t)
		for range 2 {
			a.appendN(2)
			a.stamp(a.checkpoint(), true)
		}
		a.raw(`DROP TRIGGER checkpoints_append_only_delete`, `DELETE FROM checkpoints WHERE id > 2`)
		a.reopen()
		rep := agree(t, a, "checkpoint stored #3: timestamp")
		if len(rep.Findings) != 1 {
			t.Fatalf("findings %v, want one", rep.Findings)
		}
		f := rep.First()
		if f.ConsequentCheckpoints != 1 || !strings.Contains(f.Message, "2 timestamps and 2 witness cosignatures") || !strings.Contains(f.Message, "not stored") {
			t.Errorf("finding %v", f)
		}
	})
	t.Run("entries and checkpoints deleted", func(t *testing.T) {
		// Truncation is the break; the attestations left behind by the
		// deleted checkpoints come after it.
		a := newAttestFixture(t)
		for range 3 {
			a.appendN(2)
			a.stamp(a.checkpoint(), true)
		}
		kept := a.cps[len(a.cps)-1]
		a.raw(`DROP TRIGGER checkpoints_append_only_delete`, `DROP TRIGGER entries_append_only_delete`,
			`DELETE FROM entries WHERE seq >= 7`, `DELETE FROM checkpoints WHERE size > 7`)
		a.reopen()
		opts := a.opts()
		opts.External = []verify.ExternalCheckpoint{{Name: "counsel.checkpoint", Note: kept.Note}}
		rep := a.verify(opts)
		if len(rep.Findings) != 2 || rep.Findings[0].Check != verify.CheckTruncated || rep.Findings[1].Check != verify.CheckTimestamp ||
			rep.Findings[1].ConsequentCheckpoints != 2 {
			t.Fatalf("findings %v, want truncated, then one timestamp finding", rep.Findings)
		}
	})
	t.Run("forged cosignature", func(t *testing.T) {
		a := newAttestFixture(t)
		cs, _ := a.l.Cosignatures(a.ctx)
		// One base64 character of the signature changed to another (a
		// Replace of its first occurrence could change an earlier one, or
		// nothing when it already was the replacement).
		sig := []byte(cs[1].Signature)
		i := len(sig) - 10
		if sig[i] == 'A' {
			sig[i] = 'B'
		} else {
			sig[i] = 'A'
		}
		a.raw(`DROP TRIGGER checkpoint_cosignatures_append_only_update`,
			fmt.Sprintf(`UPDATE checkpoint_cosignatures SET signature = '%s' WHERE id = 2`, sig))
		a.reopen()
		rep := a.verify(a.opts())
		if rep.OK || rep.First().Check != verify.CheckWitness {
			t.Fatalf("findings %v", rep.Findings)
		}
	})
}

// TestWitnessKeyChecked: a witness verifier key is refused, by custody and
// the independent verifier, when its type byte is not cosignature/v1's 04
// (a ledger key's 01, which transparency-dev/formats reads as a
// cosignature key all the same) or its HASH is not SHA-256(NAME ‖ "\n" ‖
// KEY)[:4] (which formats ignores): both verified the cosignatures with
// either. The refusal names the key (custody: its number; the appendix:
// its file) and what is wrong, never its content.
func TestWitnessKeyChecked(t *testing.T) {
	python := independentVerifier(t)
	a := newAttestFixture(t)
	name, rest, _ := strings.Cut(a.wkey, "+")
	hash, b64, _ := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || key[0] != 0x04 {
		t.Fatalf("the witness key %s", a.wkey)
	}
	key[0] = 0x01
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	type01 := fmt.Sprintf("%s+%x+%s", name, h[:4], base64.StdEncoding.EncodeToString(key))
	flip := "0"
	if hash[0] == '0' {
		flip = "1"
	}
	for _, tc := range []struct{ name, key, want, wantPython string }{
		{"type 01", type01, "type 01", "not a cosignature/v1 key"},
		{"HASH altered", name + "+" + flip + hash[1:] + "+" + b64, "HASH does not match", "bad key hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := a.opts()
			opts.VerifierKey, opts.Witnesses = a.l.VerifierKey(), []string{tc.key}
			_, err := verify.Ledger(a.ctx, a.l, opts)
			if err == nil || !strings.Contains(err.Error(), "witness key 1: not a witness verifier key") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("custody: %v, want a refusal of witness key 1 saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), b64[1:]) || strings.Contains(err.Error(), name) {
				t.Errorf("custody quotes the key: %v", err)
			}
			if python == nil {
				return
			}
			file := filepath.Join(t.TempDir(), "w-wrong.pub")
			os.WriteFile(file, []byte(tc.key+"\n"), 0o644)
			out, err := python("ledger", a.path, a.l.VerifierKey(), "--witness", file)
			if err == nil || !strings.Contains(out, "--witness "+file+": ") || !strings.Contains(out, tc.wantPython) || strings.Contains(out, "Traceback") {
				t.Fatalf("the independent verifier: %v\n%s\nwant it to name %s and say %q", err, out, file, tc.wantPython)
			}
			if strings.Contains(out, b64[1:]) || strings.Contains(out, name) {
				t.Errorf("the independent verifier quotes the key:\n%s", out)
			}
		})
	}
	// The genuine key, for both.
	if rep := a.verify(a.opts()); !rep.OK || len(rep.Witnessed) != 2 {
		t.Fatalf("custody: %v %+v", rep.Findings, rep.Witnessed)
	}
	if python != nil {
		if out, err := python("ledger", a.path, a.l.VerifierKey(), "--witness", a.wkeyFile); err != nil {
			t.Fatalf("the independent verifier: %v\n%s", err, out)
		}
	}
}

// tsasimRoot writes the root of a fresh test CA and returns its file.
func tsasimRoot(t *testing.T) string {
	s, err := tsasim.Start(tsasim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	f := filepath.Join(t.TempDir(), "other.pem")
	os.WriteFile(f, s.RootPEM, 0o644)
	return f
}

// independentVerifier returns a runner of the Python verifier of
// docs/ledger-format.md, or nil when python3 with cryptography, or
// openssl, is missing.
func independentVerifier(t *testing.T) func(args ...string) (string, error) {
	python := needtool.PythonPartly(t, "the independent verifier is not run")
	if python == "" {
		return nil
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		needtool.Partly(t, "openssl", "the independent verifier is not run")
		return nil
	}
	script := appendix.Script(t, t.TempDir())
	return func(args ...string) (string, error) {
		out, err := exec.Command(python, append([]string{script}, args...)...).CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), err
	}
}
