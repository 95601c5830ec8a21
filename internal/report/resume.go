package report

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// ErrUnfinished: the folder holds a recorded report under its temporary
// names that this run may not finish (--no-record), or the temporary
// files of another matter's whole report; nothing was changed.
var ErrUnfinished = errors.New("a recorded report is unfinished")

// afterRecord is called once the report entry is appended, before the
// files take their names (a test kills the process there).
var afterRecord = func() {}

// partialFile is a report file under its temporary name in the folder.
type partialFile struct {
	name string // the file's own name (report.html)
	sum  string
	size int64
}

// reportFileName reports whether name is one of a report's own files
// (report.html, report.json, transcripts-NNNN.html).
func reportFileName(name string) bool {
	if name == "report.html" || name == "report.json" {
		return true
	}
	digits, ok := strings.CutPrefix(name, "transcripts-")
	if !ok {
		return false
	}
	digits, ok = strings.CutSuffix(digits, ".html")
	if !ok || len(digits) < 4 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// partials lists the report files in dir under their temporary names
// (.NAME.partial, regular files), hashed.
func partials(dir string) ([]partialFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var out []partialFile
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), ".")
		if !ok {
			continue
		}
		if name, ok = strings.CutSuffix(name, ".partial"); !ok || !reportFileName(name) || !e.Type().IsRegular() {
			continue
		}
		sum, size, err := hashFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		out = append(out, partialFile{name: name, sum: sum, size: size})
	}
	return out, nil
}

func hashFile(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// otherMatter returns the origin of the matter whose report left the
// temporary report.json in dir when it is whole (every file of a report
// is whole before it is recorded) and names another origin than origin:
// that report may be recorded in its own ledger, and its files are not
// this matter's to remove or replace. "" otherwise. The file is read as
// a stream: a report.json can be large.
func otherMatter(dir, origin string) string {
	f, err := os.Open(filepath.Join(dir, partialName("report.json")))
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	got := ""
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		if k == "matter" {
			var m struct {
				Origin string `json:"origin"`
			}
			if err := dec.Decode(&m); err != nil {
				return ""
			}
			got = m.Origin
			continue
		}
		// Skip the value, token by token.
		depth := 0
		for {
			t, err := dec.Token()
			if err != nil {
				return ""
			}
			switch t {
			case json.Delim('{'), json.Delim('['):
				depth++
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
			if depth == 0 {
				break
			}
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return ""
	}
	if _, err := dec.Token(); err != io.EOF {
		return ""
	}
	if got == "" || got == origin {
		return ""
	}
	return got
}

// unfinished is a report entry whose files are in the folder, some still
// under their temporary names: recorded, and killed before the renames.
type unfinished struct {
	entry  leaf.Entry
	detail *leaf.ReportDetail
}

// findUnfinished returns the report entry of l every file of which is
// in dir — under its temporary name, or under its own — with the hash and
// size the entry records, at least one under its temporary name; nil when
// there is none. It also returns the temporary files that are no such
// entry's (never recorded).
func findUnfinished(ctx context.Context, l *ledger.Ledger, dir string) (*unfinished, []string, error) {
	ps, err := partials(dir)
	if err != nil || len(ps) == 0 {
		return nil, nil, err
	}
	byName := map[string]partialFile{}
	for _, p := range ps {
		byName[p.name] = p
	}
	var found []unfinished
	namedBy := map[string]uint64{} // name and hash of every file a report entry records → its seq
	for e, err := range l.Entries(ctx, ledger.Filter{Kind: leaf.KindReport}) {
		if err != nil {
			return nil, nil, fmt.Errorf("report: %w", err)
		}
		d, err := leaf.DecodeDetail(e.Kind, e.Detail)
		rd, _ := d.(*leaf.ReportDetail)
		if err != nil || rd == nil || len(rd.Files) == 0 {
			continue
		}
		for _, f := range rd.Files {
			namedBy[f.Name+"\x00"+f.SHA256] = e.Seq
		}
		partial, whole := 0, true
		for _, f := range rd.Files {
			if p, ok := byName[f.Name]; ok && p.sum == f.SHA256 && p.size == f.Size {
				partial++
				continue
			}
			if !reportFileName(f.Name) {
				whole = false
				break
			}
			fi, err := os.Lstat(filepath.Join(dir, f.Name))
			if err != nil || !fi.Mode().IsRegular() || fi.Size() != f.Size {
				whole = false
				break
			}
			if sum, _, err := hashFile(filepath.Join(dir, f.Name)); err != nil || sum != f.SHA256 {
				whole = false
				break
			}
		}
		if whole && partial > 0 {
			found = append(found, unfinished{entry: e, detail: rd})
		}
	}
	if len(found) > 1 {
		// report.json holds the ledger size before its own entry: two
		// entries cannot name the same files.
		return nil, nil, fmt.Errorf("report: %w: %s holds the files of report entries %d and %d", ErrUnfinished, dir, found[0].entry.Seq, found[1].entry.Seq)
	}
	var u *unfinished
	mine := map[string]bool{}
	if len(found) == 1 {
		u = &found[0]
		for _, f := range u.detail.Files {
			mine[f.Name] = true
		}
	}
	var stale, recorded []string
	for _, p := range ps {
		switch seq, ok := namedBy[p.name+"\x00"+p.sum]; {
		case mine[p.name]:
		case ok:
			// Part of a recorded report whose other files are not all
			// here (moved by hand): never removed nor written over.
			recorded = append(recorded, fmt.Sprintf("%s (report entry %d)", partialName(p.name), seq))
		default:
			stale = append(stale, filepath.Join(dir, partialName(p.name)))
		}
	}
	if len(recorded) > 0 {
		return nil, nil, fmt.Errorf("report: %w: %s holds files of a recorded report whose other files are missing: %s; put them back and run the report again to finish it, or choose another --out",
			ErrUnfinished, dir, strings.Join(recorded, ", "))
	}
	return u, stale, nil
}

// finish gives the files of the recorded report u their own names,
// report.html last, as the run that recorded it would have, signs the
// checkpoint over its entry when none covers it (and o.SignerKey is
// given), and returns what the report holds. Nothing is recorded.
func (u *unfinished) finish(ctx context.Context, l *ledger.Ledger, o Options) (*Result, error) {
	fs := &fileSet{dir: o.Out}
	for _, f := range u.detail.Files {
		if _, err := os.Lstat(filepath.Join(o.Out, partialName(f.Name))); err == nil {
			fs.files = append(fs.files, &hashedFile{name: f.Name})
		}
	}
	if err := fs.commit(); err != nil {
		return nil, fmt.Errorf("report: finish report entry %d: %w", u.entry.Seq, err)
	}
	seq := u.entry.Seq
	res := &Result{Dir: o.Out, HTML: filepath.Join(o.Out, "report.html"), JSON: filepath.Join(o.Out, "report.json"),
		Files: u.detail.Files, Seq: &seq, RunID: u.entry.RunID, DiffRun: u.detail.DiffRunID, Completed: true}
	if b, err := os.ReadFile(res.JSON); err == nil {
		var doc struct {
			Integrity struct {
				Verified struct {
					OK bool `json:"ok"`
				} `json:"verified"`
			} `json:"integrity"`
			Transcripts struct {
				Conversations int `json:"conversation_count"`
				Messages      int `json:"message_count"`
			} `json:"transcripts"`
		}
		if json.Unmarshal(b, &doc) == nil {
			res.Convs, res.Messages, res.Verified = doc.Transcripts.Conversations, doc.Transcripts.Messages, doc.Integrity.Verified.OK
		}
	}
	if o.SignerKey != "" {
		cp, ok, err := l.LatestCheckpoint(ctx)
		if err != nil {
			return res, fmt.Errorf("report: checkpoint: %w", err)
		}
		if !ok || cp.Size <= seq {
			if _, err := l.Checkpoint(context.WithoutCancel(ctx), o.SignerKey); err != nil {
				return res, fmt.Errorf("report: checkpoint: %w", err)
			}
		}
	}
	return res, nil
}
