package exportfile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/sim"
	"github.com/custodyhq/custody/internal/sim/recexport"
	"github.com/custodyhq/custody/internal/testutil/benchutil"
)

// benchTree writes an export of about n messages in shape (a recexport
// shape) and returns the folder and how many messages it holds.
func benchTree(b *testing.B, shape string, n int) string {
	b.Helper()
	org := sim.NewOrg(sim.OrgConfig{Seed: 1, Conversations: n/12 + 1})
	dir := b.TempDir()
	p := recexport.DefaultProfile(shape, 1)
	p.CountOnly = true
	if _, err := recexport.Export(context.Background(), org, nil, recexport.Target{Dir: dir}, p); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkWalk lists a Genesys-layout folder export (per-conversation
// folders, two files each) the way Run's walker does: every entry is
// opened by Walk and closed unread. Reported per listed file, for the
// walk Walk uses (walk=native: descriptors on Linux) and the portable
// os.Root walk.
func BenchmarkWalk(b *testing.B) {
	dir := benchTree(b, recexport.ShapeGenesys, benchutil.Messages(b, 100_000))
	for _, portable := range []bool{false, true} {
		name := "walk=native"
		if portable {
			name = "walk=portable"
		}
		b.Run(name, func(b *testing.B) { benchWalk(b, dir, portable) })
	}
}

func benchWalk(b *testing.B, dir string, portable bool) {
	src, err := NewDirSource(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	src.portable = portable
	files := 0
	b.ReportAllocs()
	cpu0 := benchutil.CPUTime()
	for b.Loop() {
		files = 0
		err := src.Walk(context.Background(), func(e Entry) error {
			if e.Problem != "" {
				return fmt.Errorf("%s: %s", e.Name, e.Problem)
			}
			files++
			e.Release()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu := benchutil.CPUTime() - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(files*b.N), "ns/file")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(files*b.N), "cpu-ns/file")
	b.ReportMetric(float64(files), "files")
}

// benchFile is one export file held in memory.
type benchFile struct {
	name string
	data []byte
}

// readTree reads every file of a folder export into memory, in walk order.
func readTree(b *testing.B, dir string) []benchFile {
	b.Helper()
	var out []benchFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, benchFile{filepath.ToSlash(rel), data})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// benchJSONL is an export of about n messages as JSON Lines, one file per
// 1,000 conversations, in custody's own field names.
func benchJSONL(n int) []benchFile {
	org := sim.NewOrg(sim.OrgConfig{Seed: 1, Conversations: n/12 + 1})
	var out []benchFile
	var buf bytes.Buffer
	for i := range org.Len() {
		c := org.ConversationAt(i)
		for k := range c.Messages {
			m := &c.Messages[k]
			line, _ := json.Marshal(map[string]any{
				"conversation_id": c.ID, "message_id": m.ID, "timestamp": m.Timestamp,
				"content": m.TextBody, "sender": m.FromAddress, "legal_hold": c.LegalHold,
			})
			buf.Write(line)
			buf.WriteByte('\n')
		}
		if (i+1)%1000 == 0 || i == org.Len()-1 {
			out = append(out, benchFile{fmt.Sprintf("lines-%04d.jsonl", len(out)), bytes.Clone(buf.Bytes())})
			buf.Reset()
		}
	}
	return out
}

// BenchmarkParse runs the parser over export files held in memory, per
// kind of file: Genesys recordings, their _metadata.json companions,
// customer reshapes and JSON Lines. Reported per message and per file.
func BenchmarkParse(b *testing.B) {
	n := benchutil.Messages(b, 100_000)
	genesys := readTree(b, benchTree(b, recexport.ShapeGenesys, n))
	var recs, metas []benchFile
	for _, f := range genesys {
		if strings.HasSuffix(f.name, "_metadata.json") {
			metas = append(metas, f)
		} else {
			recs = append(recs, f)
		}
	}
	sets := []struct {
		name  string
		files []benchFile
	}{
		{"genesys", recs},
		{"metadata", metas},
		{"reshape", readTree(b, benchTree(b, recexport.ShapeReshape, n))},
		{"jsonl", benchJSONL(n)},
	}
	cp, err := compileDefault()
	if err != nil {
		b.Fatal(err)
	}
	for _, set := range sets {
		b.Run(set.name, func(b *testing.B) {
			var rp readerPool
			records, bytesIn := 0, 0
			for _, f := range set.files {
				bytesIn += len(f.data)
			}
			emit := func(it Item) error {
				if it.Kind == ItemMessage {
					records++
				}
				return nil
			}
			var r bytes.Reader
			b.SetBytes(int64(bytesIn))
			b.ReportAllocs()
			cpu0 := benchutil.CPUTime()
			for b.Loop() {
				records = 0
				for _, f := range set.files {
					p := &fileParser{cp: cp, format: FormatAuto, maxLine: DefaultMaxLineBytes, name: f.name, readers: &rp, emit: emit}
					r.Reset(f.data)
					if err := p.parse(&limitReader{r: &r, n: DefaultMaxFileSize}); err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu := benchutil.CPUTime() - cpu0
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/float64(len(set.files)), "ns/file")
			if records > 0 {
				b.ReportMetric(ns/float64(records), "ns/msg")
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(records), "cpu-ns/msg")
			}
			b.ReportMetric(float64(len(set.files)), "files")
			b.ReportMetric(float64(records), "msgs")
		})
	}
}
