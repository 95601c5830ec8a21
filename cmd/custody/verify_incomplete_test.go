package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/verify"
)

// stoppedEvidenceReport is the report of verify --evidence on a store
// none of whose 22,765 objects could be read: the check stopped after 64
// in a row, 7 ERROR lines (the stop, five objects named, "N more").
func stoppedEvidenceReport() *verify.Report {
	rep := &verify.Report{Entries: 21134,
		Evidence: &verify.EvidenceSummary{Store: "/m/evidence", Referenced: 22765, Unreadable: 64, NotChecked: 22765, Stopped: true}}
	rep.Unchecked = append(rep.Unchecked, verify.Unchecked{Check: verify.CheckEvidence, Error: "stopped after 64 objects in a row could not be read; the last: get sha256/00/…: offline"})
	for i := range 5 {
		rep.Unchecked = append(rep.Unchecked, verify.Unchecked{Check: verify.CheckEvidence, Error: fmt.Sprintf("get sha256/0%d/…: offline", i)})
	}
	rep.Unchecked = append(rep.Unchecked, verify.Unchecked{Check: verify.CheckEvidence, Error: "59 more objects could not be read (--output json lists them all: evidence.unreadable_objects)"})
	return rep
}

// TestIncompleteSaysWhatWasNotChecked (review-commits7 L1): the
// INCOMPLETE line says what could not be checked — the evidence of so
// many objects, each other check once — not how many ERROR lines there
// are. Before, a store none of whose 22,765 objects could be read ended
// "but 7 could not be made".
func TestIncompleteSaysWhatWasNotChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  func() *verify.Report
		want string
	}{
		{"stopped", stoppedEvidenceReport,
			"INCOMPLETE every check that ran holds, but the evidence of 22765 of the 22765 objects referenced could not be checked, the check having stopped early (ERROR above)\n"},
		{"two unreadable and the report", func() *verify.Report {
			return &verify.Report{
				Evidence: &verify.EvidenceSummary{Referenced: 10, Unreadable: 2, NotChecked: 2},
				Unchecked: []verify.Unchecked{
					{Check: verify.CheckEvidence, Error: "get sha256/01/…: offline"},
					{Check: verify.CheckEvidence, Error: "get sha256/02/…: offline"},
					{Check: verify.CheckReport, Error: "report r.html: read: input/output error"},
				}}
		}, "INCOMPLETE every check that ran holds, but the evidence of 2 of the 10 objects referenced could not be checked; the report check could not be made (ERROR above)\n"},
		{"the ledger not read again", func() *verify.Report {
			return ledgerNotReadAgainReport()
		}, "INCOMPLETE every check that ran holds, but the evidence of 3 of the 10 objects referenced could not be checked (2 absent from the store, whether erased not judged: the ledger could not be read again) (ERROR above)\n"},
		{"store not listed", func() *verify.Report {
			return &verify.Report{
				Evidence:  &verify.EvidenceSummary{Referenced: 10},
				Unchecked: []verify.Unchecked{{Check: verify.CheckEvidence, Error: "walk: input/output error"}}}
		}, "INCOMPLETE every check that ran holds, but the evidence check could not be completed (ERROR above)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			g := &globalOptions{stdout: &out, stderr: &out}
			if err := printReport(g, tc.rep()); err != nil {
				t.Fatal(err)
			}
			var last string
			for _, l := range strings.SplitAfter(out.String(), "\n") {
				if strings.HasPrefix(l, "INCOMPLETE") {
					last = l
				}
			}
			if last != tc.want {
				t.Errorf("INCOMPLETE line\n %q\nwant\n %q\nin:\n%s", last, tc.want, out.String())
			}
		})
	}
}

// ledgerNotReadAgainReport is the report of verify --evidence whose
// ledger, read again after the pass to judge 2 absent objects against
// the erasure entries listing them, could not be: one object unreadable
// besides.
func ledgerNotReadAgainReport() *verify.Report {
	return &verify.Report{
		Evidence: &verify.EvidenceSummary{Store: "/m/evidence", Referenced: 10, Unreadable: 1, Unjudged: 2, NotChecked: 3},
		Unchecked: []verify.Unchecked{
			{Check: verify.CheckEvidence, Error: "the ledger could not be read again to judge 2 objects absent from the store against the erasure entries listing them (erased, or missing): ledger: entries: disk I/O error; they are given no verdict, the rest of the evidence check stands: verify again once the ledger file can be read"},
			{Check: verify.CheckEvidence, Error: "get sha256/01/…: offline"},
		}}
}

// TestEvidenceLineSaysUnjudged: objects the ledger could not be read
// again to judge are not called unreadable on the evidence line (the
// store gave its answer).
func TestEvidenceLineSaysUnjudged(t *testing.T) {
	var out bytes.Buffer
	g := &globalOptions{stdout: &out, stderr: &out}
	if err := printReport(g, ledgerNotReadAgainReport()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"evidence     10 objects referenced, 7 re-hashed in /m/evidence: 0 missing, 0 altered, 3 not checked (1 unreadable, 2 absent, not judged against the erasures), 0 unreferenced; 0 checkpoint copies checked\n",
		"ERROR evidence: not checked: the ledger could not be read again to judge 2 objects",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}
