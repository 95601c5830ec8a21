package report_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/report"
)

// TestMatterNameFromEntries: the matter's name in custody's state is a
// plain row, not chained; every entry commits to the name instead. With
// the row edited (verify cannot notice), the report's title and
// certificate give the name the entries commit to and say that the state
// disagrees. Before, the certificate certified the records of whatever
// matter the row named.
func TestMatterNameFromEntries(t *testing.T) {
	ctx := context.Background()
	env := hostileMatter(t, "short")
	want := env.Ledger.Matter()
	path := filepath.Join(env.Dir, "custody.db")
	env.Ledger.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	const forged = "Totally Different v. Matter"
	if _, err := db.Exec(`UPDATE state SET value = ? WHERE key = 'matter'`, forged); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Matter() != forged {
		t.Fatalf("the state's matter is %q after the edit", l.Matter())
	}
	res, err := report.Generate(ctx, l, env.Store, report.Options{Out: t.TempDir(), NoRecord: true, Proofs: report.ProofsNone})
	if err != nil {
		t.Fatal(err)
	}
	doc := readDoc(t, res.JSON)
	if doc.Matter.Name != want || strings.Contains(doc.Certificate.Statement, forged) {
		t.Errorf("matter %q, certificate %q; want the name the entries commit to, %q", doc.Matter.Name, doc.Certificate.Statement, want)
	}
	if d := strings.Join(doc.Integrity.Unchained, "\n"); !strings.Contains(d, forged) || !strings.Contains(doc.Certificate.Statement, "state kept beside the ledger") {
		t.Errorf("disagreements %q, certificate %q; want both to say the state disagrees with the ledger", d, doc.Certificate.Statement)
	}
}
