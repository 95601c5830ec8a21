package verify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
	"github.com/custodyhq/custody/internal/ledger"
)

// Checks of the lookup aids beside the leaves (columns.go).
const (
	// CheckColumns: an entries row's kind, conversation_id, message_id or
	// run_id column is not the copy of its leaf's member.
	CheckColumns = "columns"
	// CheckIndex: the message index does not hold exactly one (key, seq)
	// row for each entry with a message id.
	CheckIndex = "index"
)

// columnsCheck holds the lookup aids to the leaves, in Ledger's pass:
// every entries row's columns (kind, conversation_id, message_id,
// run_id) must be copies of its leaf's members, and the message index
// must hold exactly each entry's (key of its message id, seq). No hash
// covers either, and custody finds entries by them (prove --message,
// log, an export's or refetch's latest captures), checking only the rows
// a lookup finds: a row changed to hide from a lookup, or an index row
// deleted, shows here alone.
//
// The strict stage adds up keyed fingerprints of what each entry's
// columns and index row must be (ledger.ColumnsFingerprint,
// IndexRowFingerprint); SQLite computes those of what the file holds:
// each row's beside it in the walk (ledger.Snapshot.EntriesFingerprinted,
// one integer where four strings cost a fifth of a ledger-only verify),
// which the walk adds up, and the index's sum in one query
// (MessageIndexSum). The key is drawn for the pass: no file can be made
// to give equal sums for other columns or another index. Only when the
// sums differ, or some row was not judged (entries missing, a leaf that
// is not strict), does diagnose read the columns and the index again to
// name each row that is wrong.
type columnsCheck struct {
	key ledger.LookupKey

	// The walk's: the rows it read.
	rows, end uint64
	gap       bool   // a seq is missing before end
	fpSum     uint64 // of the rows' columns' fingerprints

	// The strict stage's, read after it ends.
	judged    uint64 // entries seen
	colsSum   uint64
	indexRows int64
	indexSum  uint64
}

// messageKey is a row the message index must hold.
type messageKey struct {
	seq uint64
	key int64
}

func newColumnsCheck() *columnsCheck {
	return &columnsCheck{key: ledger.NewLookupKey()}
}

// row takes the row the walk read at seq, fp its columns' fingerprint.
func (c *columnsCheck) row(seq, fp uint64) {
	c.gap = c.gap || seq != c.end
	c.end = seq + 1
	c.rows++
	c.fpSum += fp
}

// see takes entry e, a strict leaf at seq, from the strict stage.
func (c *columnsCheck) see(seq uint64, e *leaf.Entry) {
	var p columnsPart
	p.add(c, seq, e)
	c.merge(&p)
}

// columnsPart is the strict stage's sums over some of the entries: a
// worker adds up its batch's, on any goroutine, and merge adds them to
// the check's (sums, so the order does not matter).
type columnsPart struct {
	judged, colsSum, indexSum uint64
	indexRows                 int64
}

// add takes entry e, a strict leaf at seq, under c's key.
func (p *columnsPart) add(c *columnsCheck, seq uint64, e *leaf.Entry) {
	p.judged++
	p.colsSum += ledger.ColumnsFingerprint(c.key, seq, e)
	if e.MessageID != "" {
		p.indexRows++
		p.indexSum += ledger.IndexRowFingerprint(c.key, ledger.MessageKey(e.MessageID), int64(seq))
	}
}

func (c *columnsCheck) merge(p *columnsPart) {
	c.judged += p.judged
	c.colsSum += p.colsSum
	c.indexRows += p.indexRows
	c.indexSum += p.indexSum
}

// finish compares the sums (the strict stage is done) and, if they
// differ, diagnoses; damagedFile skips both (the walk stopped early, and
// what SQLite reads past that point cannot be judged). It returns each
// row's columns failure, at the row, and one index failure, at the first
// seq the index is wrong about, counting the rest.
func (c *columnsCheck) finish(ctx context.Context, snap *ledger.Snapshot, damagedFile bool) ([]Finding, error) {
	if damagedFile {
		return nil, nil
	}
	if c.judged == c.rows && !c.gap && c.fpSum == c.colsSum {
		n, sum, err := snap.MessageIndexSum(ctx, c.key)
		if err != nil {
			return nil, err
		}
		if n == c.indexRows && sum == c.indexSum {
			return nil, nil
		}
	}
	return c.diagnose(ctx, snap)
}

// diagnose reads every row again, its columns with it, judges each
// strict leaf's columns, and compares the index with the rows the entries
// call for (index).
func (c *columnsCheck) diagnose(ctx context.Context, snap *ledger.Snapshot) ([]Finding, error) {
	var (
		fs   []Finding
		d    indexCheck
		next uint64
	)
	for row, err := range snap.EntriesWithColumns(ctx) {
		if err != nil {
			return fs, err
		}
		if row.Seq > next {
			d.gaps = append(d.gaps, [2]uint64{next, row.Seq})
		}
		next = row.Seq + 1
		e, strict, err := leaf.DecodeChecked(row.Leaf)
		if !strict || err != nil {
			d.unjudged = append(d.unjudged, int64(row.Seq)) // its strict finding says what it is
			continue
		}
		if bad := row.Columns.Mismatches(&e); len(bad) > 0 {
			seq := row.Seq
			fs = append(fs, Finding{Check: CheckColumns, Seq: &seq, pos: 2 * int64(seq),
				Message: strings.Join(bad, "; ") + " (a lookup column changed after the entry was appended: custody's lookups by kind, conversation or message would give a wrong answer or none)"})
		}
		if e.MessageID != "" {
			d.keys = append(d.keys, messageKey{seq: row.Seq, key: ledger.MessageKey(e.MessageID)})
		}
	}
	d.end = next
	f, err := d.index(ctx, snap)
	if err != nil {
		return fs, err
	}
	if f != nil {
		fs = append(fs, *f)
	}
	return fs, nil
}

// indexCheck is what the message index is compared with: the rows the
// entries call for (keys, ascending by seq), and the seqs not judged:
// before end, those of no row (gaps, [from, to)) and of rows that are no
// strict leaf (unjudged, ascending).
type indexCheck struct {
	keys     []messageKey
	end      uint64
	gaps     [][2]uint64
	unjudged []int64
}

// index reads the message index and returns its failure, nil when it
// holds exactly the rows c.keys calls for. Rows naming an entry that is
// no strict leaf are not judged, nor rows naming a seq the entries lack
// (deleted, or past the end): that is the entries' failure (sequence,
// truncated), not the index's, and a lookup that follows such a row
// finds nothing.
func (c *indexCheck) index(ctx context.Context, snap *ledger.Snapshot) (*Finding, error) {
	seen := make([]bool, len(c.keys))
	var (
		extra, missing int
		first          int64 = -1 // the lowest seq the index is wrong about
		firstMsg       string
	)
	wrong := func(seq int64, msg func() string) {
		if first < 0 || seq < first {
			first, firstMsg = seq, msg()
		}
	}
	err := snap.MessageIndex(ctx, func(key, seq int64) error {
		if seq < 0 || uint64(seq) >= c.end || c.gap(uint64(seq)) {
			return nil
		}
		if _, ok := slices.BinarySearch(c.unjudged, seq); ok {
			return nil
		}
		i, ok := slices.BinarySearchFunc(c.keys, uint64(seq), func(k messageKey, s uint64) int { return cmp.Compare(k.seq, s) })
		switch {
		case ok && c.keys[i].key == key && !seen[i]:
			seen[i] = true
			return nil
		case ok && c.keys[i].key == key:
			wrong(seq, func() string { return fmt.Sprintf("the message index holds this entry's row (key %d) twice", key) })
		case ok:
			wrong(seq, func() string {
				return fmt.Sprintf("the message index has a row giving this entry the key %d, which is not the key of its message id (%d)", key, c.keys[i].key)
			})
		default:
			wrong(seq, func() string {
				return fmt.Sprintf("the message index has a row (key %d) for this seq, which is no entry with a message id", key)
			})
		}
		extra++
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, k := range c.keys {
		if seen[i] {
			continue
		}
		missing++
		wrong(int64(k.seq), func() string {
			return fmt.Sprintf("the message index has no row for this entry's message id (key %d): custody's lookups by message id do not find the entry", k.key)
		})
	}
	if extra+missing == 0 {
		return nil, nil
	}
	total := fmt.Sprintf("in all the index lacks %d %s and holds %d it should not, of %d entries with a message id (the index was changed after the entries were appended: prove --message, log --message and the latest captures of an export or refetch rely on it)",
		missing, plural(missing, "row", "rows"), extra, len(c.keys))
	seq := uint64(first)
	return &Finding{Check: CheckIndex, Seq: &seq, pos: 2 * first, Message: firstMsg + "; " + total}, nil
}

// gap reports whether no row has seq (below end).
func (c *indexCheck) gap(seq uint64) bool {
	i, _ := slices.BinarySearchFunc(c.gaps, seq, func(g [2]uint64, s uint64) int { return cmp.Compare(g[1], s+1) })
	return i < len(c.gaps) && c.gaps[i][0] <= seq && seq < c.gaps[i][1]
}
