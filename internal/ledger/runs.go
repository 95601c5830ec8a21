package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/leaf"
)

// Run statuses custody uses; the column is free text.
const (
	RunRunning   = "running"
	RunDone      = "done"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// Run item statuses, the only values the run_items table accepts.
const (
	ItemPending = "pending"
	ItemDone    = "done"
	ItemFailed  = "failed"
	ItemGone    = "gone" // no longer exists at the source (404)
)

// Run is the mutable record of one export, refetch or other run. It is
// run state, not evidence: the ledger's "run" entries are the evidence.
type Run struct {
	ID         string
	Kind       string // export, refetch, …
	Matter     string
	Scope      json.RawMessage // what the run was asked to cover; "{}" if nil
	Status     string
	StartedAt  time.Time
	EndedAt    time.Time       // zero while running
	Accounting json.RawMessage // counts and failures; "{}" if nil
}

// RunItem is the progress of one item (e.g. a conversation) of a run.
type RunItem struct {
	RunID     string
	ItemID    string
	Status    string // ItemPending, ItemDone, ItemFailed or ItemGone
	Reason    string // why it failed or is gone
	Attempts  int
	UpdatedAt time.Time // set to the clock by PutRunItem when zero
}

// PutRun inserts or replaces the run with r.ID.
func (tx *Tx) PutRun(r Run) error {
	if r.ID == "" || r.Kind == "" || r.Status == "" {
		return errors.New("ledger: put run: id, kind and status are required")
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = tx.l.now()
	}
	if r.Matter == "" {
		r.Matter = tx.l.matter
	}
	scope, err := jsonOrEmpty(r.Scope)
	if err != nil {
		return fmt.Errorf("ledger: put run %s: scope: %w", r.ID, err)
	}
	acct, err := jsonOrEmpty(r.Accounting)
	if err != nil {
		return fmt.Errorf("ledger: put run %s: accounting: %w", r.ID, err)
	}
	var ended sql.NullString
	if !r.EndedAt.IsZero() {
		ended = sql.NullString{String: leaf.FormatTime(r.EndedAt), Valid: true}
	}
	_, err = tx.tx.ExecContext(tx.ctx, `INSERT INTO runs (id, kind, matter, scope, status, started_at, ended_at, accounting)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, matter = excluded.matter, scope = excluded.scope,
			status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
			accounting = excluded.accounting`,
		r.ID, r.Kind, r.Matter, scope, r.Status, leaf.FormatTime(r.StartedAt), ended, acct)
	if err != nil {
		return fmt.Errorf("ledger: put run %s: %w", r.ID, classify(err))
	}
	return nil
}

func jsonOrEmpty(b json.RawMessage) (string, error) {
	if len(b) == 0 {
		return "{}", nil
	}
	if !json.Valid(b) {
		return "", errors.New("not valid JSON")
	}
	return string(b), nil
}

// Run returns the run with id inside the transaction.
func (tx *Tx) Run(id string) (Run, bool, error) { return getRun(tx.ctx, tx.tx, id) }

// Run returns the run with id.
func (l *Ledger) Run(ctx context.Context, id string) (Run, bool, error) {
	return getRun(ctx, l.rdb, id)
}

// Runs returns every run, oldest first.
func (l *Ledger) Runs(ctx context.Context) ([]Run, error) {
	rows, err := l.rdb.QueryContext(ctx, `SELECT id, kind, matter, scope, status, started_at, ended_at, accounting FROM runs ORDER BY started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: runs: %w", classify(err))
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger: runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: runs: %w", classify(err))
	}
	return out, nil
}

func getRun(ctx context.Context, q querier, id string) (Run, bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, kind, matter, scope, status, started_at, ended_at, accounting FROM runs WHERE id = ?`, id)
	if err != nil {
		return Run{}, false, fmt.Errorf("ledger: run %s: %w", id, classify(err))
	}
	defer rows.Close()
	if !rows.Next() {
		return Run{}, false, rows.Err()
	}
	r, err := scanRun(rows)
	if err != nil {
		return Run{}, false, fmt.Errorf("ledger: run %s: %w", id, err)
	}
	return r, true, nil
}

func scanRun(rows *sql.Rows) (Run, error) {
	var r Run
	var scope, acct, started string
	var ended sql.NullString
	if err := rows.Scan(&r.ID, &r.Kind, &r.Matter, &scope, &r.Status, &started, &ended, &acct); err != nil {
		return Run{}, classify(err)
	}
	r.Scope, r.Accounting = json.RawMessage(scope), json.RawMessage(acct)
	var err error
	if r.StartedAt, err = leaf.ParseTime(started); err != nil {
		return Run{}, fmt.Errorf("started_at: %w", err)
	}
	if ended.Valid {
		if r.EndedAt, err = leaf.ParseTime(ended.String); err != nil {
			return Run{}, fmt.Errorf("ended_at: %w", err)
		}
	}
	return r, nil
}

// PutRunItem inserts or replaces the item (it.RunID, it.ItemID). The run
// must exist.
func (tx *Tx) PutRunItem(it RunItem) error {
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = tx.l.now()
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO run_items (run_id, item_id, status, reason, attempts, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, item_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
			attempts = excluded.attempts, updated_at = excluded.updated_at`,
		it.RunID, it.ItemID, it.Status, it.Reason, it.Attempts, leaf.FormatTime(it.UpdatedAt))
	if err != nil {
		return fmt.Errorf("ledger: put run item %s/%s: %w", it.RunID, it.ItemID, classify(err))
	}
	return nil
}

// RunItem returns one item of a run inside the transaction.
func (tx *Tx) RunItem(runID, itemID string) (RunItem, bool, error) {
	items, err := runItems(tx.ctx, tx.tx, `SELECT run_id, item_id, status, reason, attempts, updated_at
		FROM run_items WHERE run_id = ? AND item_id = ?`, runID, itemID)
	if err != nil || len(items) == 0 {
		return RunItem{}, false, err
	}
	return items[0], true, nil
}

// RunItems returns the run's items with the given status ("" for all),
// ordered by item id, inside the transaction.
func (tx *Tx) RunItems(runID, status string) ([]RunItem, error) {
	return listRunItems(tx.ctx, tx.tx, runID, status)
}

// RunItems returns the run's items with the given status ("" for all),
// ordered by item id.
func (l *Ledger) RunItems(ctx context.Context, runID, status string) ([]RunItem, error) {
	return listRunItems(ctx, l.rdb, runID, status)
}

func listRunItems(ctx context.Context, q querier, runID, status string) ([]RunItem, error) {
	query := `SELECT run_id, item_id, status, reason, attempts, updated_at FROM run_items WHERE run_id = ?`
	args := []any{runID}
	if status != "" {
		query += ` AND status = ?`
		args = append(args, status)
	}
	return runItems(ctx, q, query+` ORDER BY item_id`, args...)
}

func runItems(ctx context.Context, q querier, query string, args ...any) ([]RunItem, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: run items: %w", classify(err))
	}
	defer rows.Close()
	var out []RunItem
	for rows.Next() {
		var it RunItem
		var updated string
		if err := rows.Scan(&it.RunID, &it.ItemID, &it.Status, &it.Reason, &it.Attempts, &updated); err != nil {
			return nil, fmt.Errorf("ledger: run items: %w", classify(err))
		}
		if it.UpdatedAt, err = leaf.ParseTime(updated); err != nil {
			return nil, fmt.Errorf("ledger: run items: updated_at: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: run items: %w", classify(err))
	}
	return out, nil
}

// RunItemCounts returns how many of the run's items are in each status.
func (l *Ledger) RunItemCounts(ctx context.Context, runID string) (map[string]int, error) {
	rows, err := l.rdb.QueryContext(ctx, `SELECT status, count(*) FROM run_items WHERE run_id = ? GROUP BY status`, runID)
	if err != nil {
		return nil, fmt.Errorf("ledger: run item counts: %w", classify(err))
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("ledger: run item counts: %w", classify(err))
		}
		out[s] = n
	}
	return out, rows.Err()
}

// SetState sets a key in the state table. The keys custody sets at
// creation are refused (ErrReservedKey).
func (tx *Tx) SetState(key, value string) error { return setState(tx.ctx, tx.tx, key, value) }

// SetState sets a key in the state table in its own transaction.
func (l *Ledger) SetState(ctx context.Context, key, value string) error {
	return l.Update(ctx, func(tx *Tx) error { return tx.SetState(key, value) })
}

func setState(ctx context.Context, q querier, key, value string) error {
	if reservedState[key] {
		return fmt.Errorf("ledger: set state %q: %w", key, ErrReservedKey)
	}
	if key == "" {
		return errors.New("ledger: set state: empty key")
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO state (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("ledger: set state %q: %w", key, classify(err))
	}
	return nil
}

// DeleteState removes a key from the state table (reserved keys refused).
func (tx *Tx) DeleteState(key string) error {
	if reservedState[key] {
		return fmt.Errorf("ledger: delete state %q: %w", key, ErrReservedKey)
	}
	if _, err := tx.tx.ExecContext(tx.ctx, `DELETE FROM state WHERE key = ?`, key); err != nil {
		return fmt.Errorf("ledger: delete state %q: %w", key, classify(err))
	}
	return nil
}

// State returns a value from the state table inside the transaction.
func (tx *Tx) State(key string) (string, bool, error) { return getState(tx.ctx, tx.tx, key) }

// State returns a value from the state table and whether it was set.
func (l *Ledger) State(ctx context.Context, key string) (string, bool, error) {
	return getState(ctx, l.rdb, key)
}

func getState(ctx context.Context, q querier, key string) (string, bool, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("ledger: state %q: %w", key, classify(err))
	}
	return v, true, nil
}
