package diff

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/finding"
)

// Output formats of NewWriter.
const (
	OutputJSON  = "json"
	OutputCSV   = "csv"
	OutputJSONL = "jsonl"
)

// Writer prints findings as they come and the summary at the end.
type Writer interface {
	Write(Finding) error
	// Close finishes the output with the summary (where the format has a
	// place for it) and flushes; it does not close the underlying writer.
	Close(Summary) error
	// Abort finishes the output of a diff that failed (err) instead of
	// Close, so that no record is left torn: json closes a document it
	// started with an "error" member and no summary
	// ({"findings":[…],"error":"…"}), and writes nothing if it started
	// none; jsonl ends with a line {"error":"…"}, which is not a finding,
	// so that a reader of the file alone ('custody refetch --findings')
	// sees it is not the diff's whole output; csv ends after the last
	// whole row (a spreadsheet has no place for it: the exit status says).
	Abort(err error) error
}

// JSONWriter is a Writer that can take a finding already encoded: js is
// f.AppendJSON's bytes. A caller that encodes findings anyway (to store
// them) hands its bytes over instead of having them encoded again. The
// json and jsonl writers are JSONWriters.
type JSONWriter interface {
	Writer
	WriteJSON(f Finding, js []byte) error
}

// RecordWriter is a Writer whose output can name the recorded diff: the
// json writer, whose object then has run_id and seq members ('custody
// refetch --diff RUN_ID' acts on it). Call SetRecord before Close.
type RecordWriter interface {
	Writer
	SetRecord(runID string, seq uint64)
}

// NewWriter returns a Writer for format:
//   - json: one object {"findings":[…],"summary":{…}}, findings streamed
//     (a RecordWriter: with a record, "run_id" and "seq" before "summary");
//   - csv: a header row, then one row per finding (CSVHeader columns);
//   - jsonl: one finding object per line.
func NewWriter(format string, w io.Writer) (Writer, error) {
	switch format {
	case OutputJSON:
		return &jsonWriter{w: w}, nil
	case OutputCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader); err != nil {
			return nil, fmt.Errorf("diff: write csv header: %w", err)
		}
		return &csvWriter{w: cw}, nil
	case OutputJSONL:
		return &jsonlWriter{w: w}, nil
	}
	return nil, fmt.Errorf("diff: %w: output %q (want json, csv or jsonl)", ErrBadFormat, format)
}

// CSVHeader names the CSV columns, in Finding's field order. Columns
// added later come last (cause, then count), so that readers of the
// older columns keep working.
var CSVHeader = []string{"kind", "conversation_id", "message_id", "field", "expected", "got", "file", "detail", "cause", "count"}

type jsonWriter struct {
	w      io.Writer
	n      int
	buf    []byte
	record []byte // "run_id" and "seq" members, with SetRecord
}

func (j *jsonWriter) SetRecord(runID string, seq uint64) {
	id, _ := json.Marshal(runID) // a string always encodes
	j.record = fmt.Appendf(nil, "\"run_id\": %s,\n\"seq\": %d,\n", id, seq)
}

func (j *jsonWriter) Write(f Finding) error {
	j.buf = f.AppendJSON(j.buf[:0])
	return j.WriteJSON(f, j.buf)
}

func (j *jsonWriter) WriteJSON(_ Finding, js []byte) error {
	sep := ",\n  "
	if j.n == 0 {
		sep = "{\"findings\": [\n  "
	}
	j.n++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return fmt.Errorf("diff: write finding: %w", err)
	}
	if _, err := j.w.Write(js); err != nil {
		return fmt.Errorf("diff: write finding: %w", err)
	}
	return nil
}

func (j *jsonWriter) Close(s Summary) error {
	head := "\n],\n"
	if j.n == 0 {
		head = "{\"findings\": [],\n"
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("diff: encode summary: %w", err)
	}
	if _, err := fmt.Fprintf(j.w, "%s%s\"summary\": %s}\n", head, j.record, b); err != nil {
		return fmt.Errorf("diff: write summary: %w", err)
	}
	return nil
}

// Abort closes the document, if one was started, with the error instead
// of the summary.
func (j *jsonWriter) Abort(failure error) error {
	if j.n == 0 {
		return nil // nothing written: nothing to close
	}
	msg, err := json.Marshal(failure.Error())
	if err != nil {
		return fmt.Errorf("diff: encode error: %w", err)
	}
	if _, err := fmt.Fprintf(j.w, "\n],\n\"error\": %s}\n", msg); err != nil {
		return fmt.Errorf("diff: write error: %w", err)
	}
	return nil
}

type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) Write(f Finding) error {
	count := ""
	if f.Count != 0 {
		count = strconv.Itoa(f.Count)
	}
	row := []string{string(f.Kind), f.ConversationID, f.MessageID, f.Field, f.Expected, f.Got, f.File, f.Detail, string(f.Cause), count}
	for i, v := range row {
		if i != csvFileColumn { // the file's name is escaped already (exportfile.Entry.Name)
			v = exportfile.SafeDisplay(v)
		}
		row[i] = csvSafe(v)
	}
	if err := c.w.Write(row); err != nil {
		return fmt.Errorf("diff: write csv: %w", err)
	}
	return nil
}

// csvFileColumn is the file column of CSVHeader.
const csvFileColumn = 6

// csvSafe defuses spreadsheet formulas: export content is hostile and
// analysts open CSVs in spreadsheets (OWASP "CSV injection"). The
// writer escapes each cell first (exportfile.SafeDisplay: control and
// format characters, invalid UTF-8 and the backslash, as the text
// summary shows them), so that 'cat findings.csv' runs no escape
// sequence and a cell shows what the export holds.
func csvSafe(v string) string {
	if v != "" {
		switch v[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + v
		}
	}
	return v
}

// Abort flushes the rows written, each whole.
func (c *csvWriter) Abort(error) error { return c.Close(Summary{}) }

func (c *csvWriter) Close(Summary) error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("diff: write csv: %w", err)
	}
	return nil
}

type jsonlWriter struct {
	w   io.Writer
	buf []byte
}

// Write writes f as json.Encoder would: json.Marshal's bytes and a newline.
func (j *jsonlWriter) Write(f Finding) error {
	j.buf = f.AppendJSON(j.buf[:0])
	return j.WriteJSON(f, j.buf)
}

func (j *jsonlWriter) WriteJSON(_ Finding, js []byte) error {
	if _, err := j.w.Write(js); err != nil {
		return fmt.Errorf("diff: write finding: %w", err)
	}
	if _, err := io.WriteString(j.w, "\n"); err != nil {
		return fmt.Errorf("diff: write finding: %w", err)
	}
	return nil
}

func (j *jsonlWriter) Close(Summary) error { return nil }

// Abort ends the lines with the error, as a record of its own: every line
// before it is whole, but the findings are not the diff's.
func (j *jsonlWriter) Abort(failure error) error {
	b, err := json.Marshal(struct {
		Error string `json:"error"`
	}{failure.Error()})
	if err != nil {
		return fmt.Errorf("diff: encode error: %w", err)
	}
	if _, err := j.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("diff: write error: %w", err)
	}
	return nil
}

// SummaryConversations is how many conversations the summary's
// per-conversation table lists unless told otherwise: the ones with the
// most findings. A table of every conversation of a large export is
// hundreds of lines no one reads; the full list is in the findings.
const SummaryConversations = 20

// SummaryOptions shape the text summary.
type SummaryOptions struct {
	// MaxConversations: the per-conversation table lists at most this
	// many, those with the most findings first (0: SummaryConversations;
	// negative: every conversation, in id order).
	MaxConversations int
	// MoreHint ends the line that says how many conversations were left
	// out, e.g. how to list them.
	MoreHint string
}

// WriteSummary prints the summary as readable tables: totals, counts by
// kind, then counts per conversation for the kinds that occurred, for the
// SummaryConversations conversations with the most findings.
func WriteSummary(w io.Writer, s Summary) error { return WriteSummaryWith(w, s, SummaryOptions{}) }

// formatLacks says which fields the export's format cannot hold and for
// how many messages, in finding.ComplianceFields order.
func (s *Summary) formatLacks() string {
	var parts []string
	for _, f := range finding.ComplianceFields {
		if n, ok := s.FormatLacks[f]; ok {
			parts = append(parts, f+" for "+strconv.Itoa(n)+" messages")
		}
	}
	return strings.Join(parts, ", ")
}

// erasedBy names the erasure entries of the erased findings.
func (s *Summary) erasedBy() string {
	if len(s.ErasedEntries) == 0 {
		return "erased by custody erase"
	}
	ids := make([]string, len(s.ErasedEntries))
	for i, seq := range s.ErasedEntries {
		ids[i] = strconv.FormatUint(seq, 10)
	}
	w := "entry "
	if len(ids) > 1 {
		w = "entries "
	}
	return "erased by custody erase, erasure " + w + strings.Join(ids, ", ")
}

// WriteSummaryWith is WriteSummary shaped by o.
func WriteSummaryWith(w io.Writer, s Summary, o SummaryOptions) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "export\t%s\n", s.Source)
	fmt.Fprintf(tw, "files\t%d (%d unreadable)\n", s.Files, s.FilesUnreadable)
	fmt.Fprintf(tw, "messages read\t%d\n", s.Messages)
	fmt.Fprintf(tw, "conversations in export\t%d\n", s.Conversations)
	fmt.Fprintf(tw, "messages captured\t%d\n", s.Captured)
	fmt.Fprintf(tw, "captured conversations absent from export\t%d (%d messages; a conversation_absent finding each)\n",
		s.ConversationsAbsent, s.MessagesInAbsentConversations)
	if n := s.Counts[finding.Erased]; n > 0 {
		// Said beside the total: the findings of a diff made before an
		// erasure are reconciled with this one through them.
		fmt.Fprintf(tw, "findings\t%d (%d of them erased: messages not compared, %s)\n", s.Counts.Total(), n, s.erasedBy())
	} else {
		fmt.Fprintf(tw, "findings\t%d\n", s.Counts.Total())
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "KIND\tCOUNT")
	var used []finding.Kind
	for _, in := range finding.All() {
		k := in.Kind
		if n := s.Counts[k]; k == finding.FormatLacks && n > 0 {
			fmt.Fprintf(tw, "%s\t%d (fields the export's format cannot hold: %s)\n", k, n, s.formatLacks())
		} else if k == finding.Erased && n > 0 {
			fmt.Fprintf(tw, "%s\t%d (exported messages whose content and sender were not compared: %s)\n", k, n, s.erasedBy())
		} else {
			fmt.Fprintf(tw, "%s\t%d\n", k, n)
		}
		if s.Counts[k] > 0 {
			used = append(used, k)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("diff: write summary: %w", err)
	}
	if len(used) == 0 || len(s.PerConversation) == 0 {
		return nil
	}
	convs := s.conversationIDs()
	total := len(convs)
	limit := o.MaxConversations
	if limit == 0 {
		limit = SummaryConversations
	}
	fmt.Fprintln(w)
	if limit > 0 && total > limit {
		// The worst first: most findings, then id, so the order is stable.
		slices.SortStableFunc(convs, func(a, b string) int {
			return cmp.Compare(s.PerConversation[b].Total(), s.PerConversation[a].Total())
		})
		convs = convs[:limit]
		fmt.Fprintf(w, "the %d conversations with the most findings, of %d with findings:\n", limit, total)
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "CONVERSATION\t")
	for _, k := range used {
		fmt.Fprintf(tw, "%s\t", k)
	}
	fmt.Fprintln(tw)
	for _, conv := range convs {
		name := exportfile.SafeDisplay(conv) // export content: no raw escape sequences on a terminal
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(tw, "%s\t", name)
		for _, k := range used {
			fmt.Fprintf(tw, "%s\t", strconv.Itoa(s.PerConversation[conv].Get(k)))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("diff: write summary: %w", err)
	}
	if n := total - len(convs); n > 0 {
		line := fmt.Sprintf("… and %d more conversations with findings", n)
		if o.MoreHint != "" {
			line += " (" + o.MoreHint + ")"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return fmt.Errorf("diff: write summary: %w", err)
		}
	}
	return nil
}

var (
	_ JSONWriter = (*jsonWriter)(nil)
	_ JSONWriter = (*jsonlWriter)(nil)
)
