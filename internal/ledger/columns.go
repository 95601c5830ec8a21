package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"

	"github.com/custodyhq/custody/internal/leaf"
)

// The entries columns kind, conversation_id, message_id and run_id copy
// members of the row's leaf (NULL where the leaf has none) so that
// lookups can find entries without decoding every leaf, and the message
// index finds them by message id. Neither is hashed: anyone who can write
// the file can change them while every hash still holds. So every lookup
// compares what it relied on with the leaf it decoded (a row the columns
// admit that the leaf does not is ErrInconsistent, never a wrong answer),
// and internal/verify compares every row's columns and the whole index
// with the leaves.

// Columns are an entries row's lookup columns as stored, in the order of
// ColumnNames: Valid false for NULL.
type Columns [4]sql.NullString

// ColumnNames names the lookup columns, in the order of Columns.
var ColumnNames = [4]string{"kind", "conversation_id", "message_id", "run_id"}

// members returns e's members the columns copy, in the order of Columns.
func members(e *leaf.Entry) [4]string {
	return [4]string{e.Kind, e.ConversationID, e.MessageID, e.RunID}
}

// Mismatches describes each of c that is not the copy of e's member (a
// member e lacks is NULL, not ""), in column order: none when the row's
// columns are what custody wrote.
func (c *Columns) Mismatches(e *leaf.Entry) []string {
	var out []string
	for i, m := range members(e) {
		if what, bad := mismatch(i, c[i], m); bad {
			out = append(out, what)
		}
	}
	return out
}

// mismatch describes column i, col, if it is not the copy of member m.
func mismatch(i int, col sql.NullString, m string) (string, bool) {
	if col.Valid == (m != "") && col.String == m {
		return "", false
	}
	return fmt.Sprintf("its %s column is %s but its leaf's %s is %s", ColumnNames[i], columnText(col), ColumnNames[i], memberText(m)), true
}

// checkColumns is a lookup's check of the first n of c, the columns of
// entry seq it read, against the entry's leaf, e.
func checkColumns(seq int64, e *leaf.Entry, c *Columns, n int) error {
	ms := members(e)
	for i := range n {
		if what, bad := mismatch(i, c[i], ms[i]); bad {
			return errColumns(seq, what)
		}
	}
	return nil
}

// typedColumns selects the lookup columns for EntriesWithColumns: each as
// it is when text or NULL, else notTextMark and its type.
var typedColumns = func() string {
	var cols []string
	for _, c := range ColumnNames {
		cols = append(cols, fmt.Sprintf("CASE WHEN typeof(%[1]s) IN ('text', 'null') THEN %[1]s ELSE char(0) || typeof(%[1]s) END", c))
	}
	return strings.Join(cols, ", ")
}()

// notTextMark starts what EntriesWithColumns reads for a column value that
// is not text: no leaf member holds a NUL.
const notTextMark = "\x00"

func columnText(c sql.NullString) string {
	switch {
	case !c.Valid:
		return "NULL"
	case strings.HasPrefix(c.String, notTextMark):
		return "a " + c.String[len(notTextMark):] + " value, not text (lookups by it find nothing)"
	}
	return fmt.Sprintf("%q", c.String)
}

func memberText(m string) string {
	if m == "" {
		return "absent"
	}
	return fmt.Sprintf("%q", m)
}

// errColumns is the error of a lookup that found entry seq by a column
// its leaf contradicts (what, a Mismatches text).
func errColumns(seq int64, what string) error {
	return fmt.Errorf("ledger: entry seq %d: %w: %s (its lookup columns were changed after it was appended, so lookups by kind, conversation or message cannot be trusted; run custody verify)", seq, ErrInconsistent, what)
}

// checkMember is a lookup's check that entry seq, found by column =
// want, has member want in its leaf.
func checkMember(seq int64, column, want, member string) error {
	if member == want {
		return nil
	}
	return errColumns(seq, fmt.Sprintf("its %s column is %q but its leaf's %s is %s", column, want, column, memberText(member)))
}

// checkFilter checks that entry e, found with f's conditions on the
// columns, meets them in its leaf.
func checkFilter(seq int64, e *leaf.Entry, f Filter) error {
	for _, c := range [...]struct{ column, want, member string }{
		{"kind", f.Kind, e.Kind},
		{"conversation_id", f.ConversationID, e.ConversationID},
		{"message_id", f.MessageID, e.MessageID},
		{"run_id", f.RunID, e.RunID},
	} {
		if c.want != "" {
			if err := checkMember(seq, c.column, c.want, c.member); err != nil {
				return err
			}
		}
	}
	return nil
}

// MessageKey is the key of a message id in the message index
// (schema.sql): the first 8 bytes of SHA-256(id) as a big-endian signed
// integer.
func MessageKey(id string) int64 { return messageKey(id) }

// EntriesWithColumns is Entries with each row's lookup columns too
// (RawEntry.Columns), for a verifier that names what differs from the
// leaf.
func (s *Snapshot) EntriesWithColumns(ctx context.Context) iter.Seq2[RawEntry, error] {
	return s.entries(ctx, entriesWithColumns, LookupKey{})
}

// EntriesFingerprinted is Entries with the fingerprint under key of each
// row's lookup columns (RawEntry.ColumnsFP; ColumnsFingerprint), for a
// verifier that compares them with its leaf's: SQLite computes it, so
// that a row's columns cost one integer rather than four strings.
func (s *Snapshot) EntriesFingerprinted(ctx context.Context, key LookupKey) iter.Seq2[RawEntry, error] {
	return s.entries(ctx, entriesFingerprinted, key)
}

// MessageIndexSum returns how many rows the message index holds, every
// level, and the sum of their fingerprints under key
// (IndexRowFingerprint): one query, where MessageIndex hands over every
// row.
func (s *Snapshot) MessageIndexSum(ctx context.Context, key LookupKey) (rows int64, sum uint64, _ error) {
	sel := make([]string, len(s.keys.levels))
	for i, t := range s.keys.levels {
		sel[i] = "SELECT key, seq FROM " + t
	}
	var total int64
	err := s.tx.QueryRowContext(ctx, `SELECT count(*), custody_index_sum(?1, ?2, key, seq) FROM (`+strings.Join(sel, " UNION ALL ")+`)`, key.args()...).Scan(&rows, &total)
	if err != nil {
		return 0, 0, fmt.Errorf("ledger: snapshot: message index: %w", classify(err))
	}
	return rows, uint64(total), nil
}

// MessageIndex calls fn with every row of the message index, every level
// (whichever the ledger's schema version has) in one query, in no
// particular order: a row is (key, seq), the message id key of an entry
// and its seq, as stored. An error from fn stops it.
func (s *Snapshot) MessageIndex(ctx context.Context, fn func(key, seq int64) error) error {
	sel := make([]string, len(s.keys.levels))
	for i, t := range s.keys.levels {
		// A key or seq that is not an integer (possible once STRICT is
		// taken off) matches no lookup: the row is as good as absent.
		sel[i] = "SELECT key, seq FROM " + t + " WHERE typeof(key) = 'integer' AND typeof(seq) = 'integer'"
	}
	rows, err := s.tx.QueryContext(ctx, strings.Join(sel, " UNION ALL "))
	if err != nil {
		return fmt.Errorf("ledger: snapshot: message index: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var key, seq int64
		if err := rows.Scan(&key, &seq); err != nil {
			return fmt.Errorf("ledger: snapshot: message index: %w", classify(err))
		}
		if err := fn(key, seq); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger: snapshot: message index: %w", classify(err))
	}
	return nil
}
