package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/derive"
	"github.com/custodyhq/custody/internal/evidence"
	"github.com/custodyhq/custody/internal/evidence/backends"
	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/genesys"
	"github.com/custodyhq/custody/internal/hashchain"
	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/report"
	"github.com/custodyhq/custody/internal/s3util"
	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// benchMatter builds a matter of about n WhatsApp messages from the
// simulator's org, as an export would (every bulk and conversation body
// stored as evidence, each entry derived from it), a damaged Recording
// export of it, and a recorded diff; it returns the ledger path.
func benchMatter(tb testing.TB, dir string, n int) (string, int) {
	ctx := context.Background()
	// About 10.5 messages per conversation, and 7 % of the org's
	// conversations are not WhatsApp.
	convs := max(1, int(float64(n)/9.75+0.5))
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	org := sim.NewOrg(sim.OrgConfig{Seed: 5, Conversations: convs, OtherMediaShare: 0.2, LegalHoldShare: 0.1, Start: start, End: start.AddDate(0, 1, 0)})
	path := filepath.Join(dir, "custody.db")
	l, key, err := ledger.Create(ctx, path, "Benchmark matter", ledger.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	if err := os.WriteFile(filepath.Join(dir, "custody.key"), []byte(key+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "custody.pub"), []byte(l.VerifierKey()+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	store, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer store.Close()
	if err := l.SetState(ctx, "evidence_url", "evidence"); err != nil {
		tb.Fatal(err)
	}
	put := func(v any) (string, []byte) {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		ref, err := store.Put(ctx, b)
		if err != nil {
			tb.Fatal(err)
		}
		return ref.Sum.String(), b
	}
	var batch []leaf.Entry
	messages := 0
	for i := range org.Len() {
		c := org.ConversationAt(i)
		if c.MessageType != "whatsapp" || len(c.Messages) == 0 {
			continue
		}
		bulkSum, bulk := put(genesys.TextMessageListing{Entities: c.Messages})
		convSum, convBody := put(c.MessageConversation)
		var held []genesys.EntityRef
		if c.LegalHold {
			held = append(held, genesys.EntityRef{ID: c.ID})
		}
		holdSum, _ := put(held)
		facts, _, err := derive.ReadConversation(convBody)
		if err != nil {
			tb.Fatal(err)
		}
		facts.Held = c.LegalHold
		ce, err := derive.Conversation(facts, mustHash(tb, holdSum), []string{bulkSum}, []string{}, nil)
		if err != nil {
			tb.Fatal(err)
		}
		ce.EvidenceSHA256 = mustHash(tb, convSum)
		batch = append(batch, ce)
		raws, err := derive.MessagesIn(bulk)
		if err != nil {
			tb.Fatal(err)
		}
		for _, raw := range raws {
			md, payload, err := derive.DecodeMessage(raw)
			if err != nil {
				tb.Fatal(err)
			}
			e, err := derive.Message(c.ID, md, payload, c.LegalHold, nil, nil, nil)
			if err != nil {
				tb.Fatal(err)
			}
			e.EvidenceSHA256 = mustHash(tb, bulkSum)
			batch = append(batch, e)
			messages++
		}
		if len(batch) >= 2000 {
			if _, err := l.Append(ctx, batch...); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := l.Append(ctx, batch...); err != nil {
		tb.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx, key); err != nil {
		tb.Fatal(err)
	}
	target, err := recexport.OpenTarget(ctx, filepath.Join(dir, "export"), s3util.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	p := recexport.DefaultProfile(recexport.ShapeGenesys, 5)
	p.CountOnly = true
	if _, err := recexport.Export(ctx, org, nil, target, p); err != nil {
		tb.Fatal(err)
	}
	src, err := exportfile.NewDirSource(filepath.Join(dir, "export"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := reconcile.Diff(ctx, l, store, src, reconcile.DiffOptions{SignerKey: key}); err != nil {
		tb.Fatal(err)
	}
	return path, messages
}

func mustHash(tb testing.TB, s string) hashchain.Hash {
	h, err := hashchain.ParseHash(s)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// BenchmarkReport measures `custody report` as a user runs it, on a
// matter of CUSTODY_BENCH_MESSAGES messages (default 20,000; the figures
// in docs/benchmarks.md are at 100,000): the rendering alone
// (--no-verify --proofs none), the whole report (verification first,
// proofs of the held conversations), and, as the baseline measured in
// the same run, `custody verify --evidence` on the same matter. Each is
// a subprocess, so its peak RSS is its own. It reports medians.
func BenchmarkReport(b *testing.B) {
	n := benchutil.Messages(b, 20_000)
	dir := b.TempDir()
	t0 := time.Now()
	ledgerPath, messages := benchMatter(b, dir, n)
	if keep := os.Getenv("CUSTODY_BENCH_KEEP"); keep != "" { // for profiling by hand
		if err := os.CopyFS(keep, os.DirFS(dir)); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("matter: %d messages in %s", messages, time.Since(t0).Round(time.Millisecond))
	exe := filepath.Join(dir, "custody")
	if out, err := exec.Command("go", "build", "-o", exe, "github.com/custodyhq/custody/cmd/custody").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	type sample struct {
		wall, cpu time.Duration // cpu: user + system, the subprocess's own
		rss       int64         // KiB
	}
	run := func(args ...string) sample {
		cmd := exec.Command(exe, append([]string{"--ledger", ledgerPath}, args...)...)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		t := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("custody %v: %v", args, err)
		}
		s := sample{wall: time.Since(t), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && goruntime.GOOS == "linux" {
			s.rss = ru.Maxrss
		}
		return s
	}
	var render, full, base []sample
	b.ResetTimer()
	for i := range b.N {
		render = append(render, run("report", "--out", filepath.Join(dir, fmt.Sprintf("render-%d", i)), "--no-verify", "--proofs", "none"))
		full = append(full, run("report", "--out", filepath.Join(dir, fmt.Sprintf("full-%d", i))))
		base = append(base, run("verify", "--evidence"))
	}
	b.StopTimer()
	median := func(s []sample) sample {
		slices.SortFunc(s, func(a, b sample) int { return int(a.wall - b.wall) })
		m := s[len(s)/2]
		for _, x := range s {
			m.rss = max(m.rss, x.rss)
		}
		return m
	}
	r, f, v := median(render), median(full), median(base)
	rate := func(d time.Duration) float64 { return float64(messages) / d.Seconds() }
	b.ReportMetric(rate(r.wall), "msgs/s-render")
	b.ReportMetric(float64(r.rss)/1024, "MiB-rss-render")
	b.ReportMetric(rate(f.wall), "msgs/s-full")
	b.ReportMetric(float64(f.rss)/1024, "MiB-rss-full")
	b.ReportMetric(rate(v.wall), "msgs/s-verify")
	b.ReportMetric(float64(f.wall)/float64(v.wall), "full/verify")
	b.ReportMetric(rate(r.cpu), "msgs/cpu-s-render")
	b.Logf("%d messages: render %s (%.0f msgs/s; CPU %s, %.0f msgs per CPU-second; peak RSS %d MiB); full report %s (%.0f msgs/s, CPU %s, peak RSS %d MiB); baseline verify --evidence %s (%.0f msgs/s, CPU %s, peak RSS %d MiB); render/verify %.2f, full/verify %.2f",
		messages, r.wall.Round(time.Millisecond), rate(r.wall), r.cpu.Round(time.Millisecond), rate(r.cpu), r.rss/1024,
		f.wall.Round(time.Millisecond), rate(f.wall), f.cpu.Round(time.Millisecond), f.rss/1024,
		v.wall.Round(time.Millisecond), rate(v.wall), v.cpu.Round(time.Millisecond), v.rss/1024,
		float64(r.wall)/float64(v.wall), float64(f.wall)/float64(v.wall))
}

// BenchmarkGenerate is the rendering alone, in process, for profiling:
// report.Generate with no verification, no proofs, nothing recorded.
func BenchmarkGenerate(b *testing.B) {
	n := benchutil.Messages(b, 20_000)
	dir := b.TempDir()
	ledgerPath, messages := benchMatter(b, dir, n)
	ctx := context.Background()
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	store, err := backends.Open(ctx, filepath.Join(dir, "evidence"), evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	b.ResetTimer()
	for i := range b.N {
		if _, err := report.Generate(ctx, l, store, report.Options{Out: filepath.Join(dir, fmt.Sprint("r", i)), NoVerify: true, NoRecord: true, Proofs: report.ProofsNone}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(messages)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
