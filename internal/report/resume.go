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

	"github.com/custodyhq/custody/internal/jsonscan"
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

// errStop, from eachMember's fn, ends the walk there: eachMember (and
// every walk it is nested in) returns it, and the caller takes it for
// done, not failed.
var errStop = errors.New("stop")

// eachMember reads the JSON object dec is at, member by member: fn is
// given each key with dec at its value, and says whether it read the
// value (else the value is skipped, token by token, never held whole: a
// report.json can be large). An error from fn, errStop included, ends
// the walk there and is returned: the rest is not read.
func eachMember(dec *json.Decoder, fn func(key string) (read bool, err error)) error {
	if t, err := dec.Token(); err != nil {
		return err
	} else if t != json.Delim('{') {
		return fmt.Errorf("not an object")
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := k.(string)
		read, err := fn(key)
		if err != nil {
			return err
		}
		if !read {
			if err := jsonscan.SkipValue(dec); err != nil {
				return err
			}
		}
	}
	_, err := dec.Token() // the closing brace
	return err
}

// reportCounts reads, from a report.json, the conversations and messages
// its transcripts hold and whether its integrity section says verified —
// as a stream that stops at the transcripts' counts, before the
// transcripts themselves (every message of the matter). ok is false when
// the file does not say them. A key given twice counts the first time (a
// report custody wrote repeats none).
func reportCounts(path string) (convs, msgs int, verified, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false, false
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 64<<10))
	var haveIntegrity, haveConvs, haveMsgs bool
	err = eachMember(dec, func(key string) (bool, error) {
		switch key {
		case "integrity":
			var in struct {
				Verified struct {
					OK bool `json:"ok"`
				} `json:"verified"`
			}
			if err := dec.Decode(&in); err != nil {
				return false, err
			}
			verified, haveIntegrity = in.Verified.OK, true
			return true, nil
		case "transcripts":
			return true, eachMember(dec, func(key string) (bool, error) {
				var n *int
				switch key {
				case "conversation_count":
					n, haveConvs = &convs, true
				case "message_count":
					n, haveMsgs = &msgs, true
				default:
					return false, nil
				}
				if err := dec.Decode(n); err != nil {
					return false, err
				}
				if haveConvs && haveMsgs && haveIntegrity {
					// Integrity comes first in the document: nothing left
					// to read, and the transcripts themselves are not.
					return true, errStop
				}
				return true, nil
			})
		}
		return false, nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return convs, msgs, verified, err == nil && haveIntegrity && haveConvs && haveMsgs
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
	got := ""
	err = eachMember(dec, func(key string) (bool, error) {
		if key != "matter" {
			return false, nil
		}
		var m struct {
			Origin string `json:"origin"`
		}
		if err := dec.Decode(&m); err != nil {
			return false, err
		}
		got = m.Origin
		return true, nil
	})
	if err != nil {
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
	// Its proofs, written and synced before it was recorded (the entry
	// does not list them: each verifies on its own against the checkpoint).
	if fi, err := os.Lstat(filepath.Join(o.Out, partialName(proofsDir))); err == nil && fi.IsDir() {
		fs.dirs = append(fs.dirs, proofsDir)
	}
	if err := fs.commit(); err != nil {
		return nil, fmt.Errorf("report: finish report entry %d: %w", u.entry.Seq, err)
	}
	seq := u.entry.Seq
	res := &Result{Dir: o.Out, HTML: filepath.Join(o.Out, "report.html"), JSON: filepath.Join(o.Out, "report.json"),
		Files: u.detail.Files, Seq: &seq, RunID: u.entry.RunID, DiffRun: u.detail.DiffRunID, Completed: true}
	if convs, msgs, verified, ok := reportCounts(res.JSON); ok {
		res.Convs, res.Messages, res.Verified = convs, msgs, verified
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
