package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/custodyhq/custody/internal/exportfile"
	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/matter"
)

// Exit codes, documented under EXIT STATUS in every command's help.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitFindings  = 3 // verification failed (every integrity failure), findings present, or some work failed
	exitUnsigned  = 4 // verify: every check that ran holds, but entries are covered by no signed checkpoint, or an output is recalled
	exitCancelled = 130
)

// exitStatusHelp is the root command's EXIT STATUS block: every code
// custody uses. Each command lists only its own (exitStatus).
var exitStatusHelp = exitStatus(exit0, exit1, exit2,
	`3    verification failed — a check of the ledger, another ledger's
       verifier key or checkpoint given to verify, a damaged ledger file,
       a ledger custody refuses to sign or prove — findings present, or
       some items failed (see each command)`,
	`4    verify: every check that ran holds, but entries are covered by no
       signed checkpoint (UNSIGNED), or an erasure recalls the report or
       production checked (RECALLED)`,
	`130  cancelled (Ctrl-C); export and refetch resume when rerun`)

// The lines of EXIT STATUS blocks that mean the same on every command
// that can return them.
const (
	exit0       = "0    success"
	exit1       = "1    error (bad input, I/O; the message says which)"
	exit2       = "2    usage error (unknown flag; missing, invalid or contradictory argument)"
	exit3Ledger = "3    the ledger file is damaged or contradicts itself"
	exit130     = "130  cancelled (Ctrl-C); nothing more is written"
	exit130Run  = "130  cancelled (Ctrl-C); state is saved: rerun the same command to resume"
)

// exitStatus is a command's EXIT STATUS block, appended to its long help:
// one line (or indented paragraph) per code it can return, in order. A
// test checks that every command has one, and that every code its
// testscripts see is listed.
func exitStatus(lines ...string) string {
	return "\nEXIT STATUS\n  " + strings.Join(lines, "\n  ")
}

// exitError carries an exit code through cobra to run(). Commands return
// one when the outcome is not a plain error: findings (3), usage (2).
type exitErr struct {
	code int
	err  error // may be nil: the command already printed what it had to say
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

// withCode wraps err so run() exits with code.
func withCode(code int, err error) error { return &exitErr{code: code, err: err} }

// cancelledSaying marks err, a cancellation whose message says what was
// done and what was not (a hold recorded part-way), as exit 130 with that
// message printed, where a plain cancellation prints only "cancelled".
func cancelledSaying(err error) error { return withCode(exitCancelled, err) }

// usageError marks err as a usage error (exit 2) with a hint.
func usageError(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// oneArg is cobra.ExactArgs(1) that names the command and what the
// argument is ("custody: diff: give one SOURCE (...), not 0"), where
// cobra says only "accepts 1 arg(s), received 0".
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError("%s: give one %s, not %d", cmd.Name(), what, len(args))
		}
		return nil
	}
}

// resumableAnnotation, on a command, says that its state is saved as it
// goes, so that a cancelled run is resumed by running it again.
const resumableAnnotation = "custody/resumable"

// exitCode maps an error returned by cmd (the command that ran; nil if
// none was found) to the process exit code and prints it once to stderr:
// one line prefixed "custody:", or under --log-format json one JSON
// object (level, msg, error, exit_code, and hint for a usage error).
func exitCode(ctx context.Context, cmd *cobra.Command, err error, g *globalOptions) int {
	if err == nil {
		return exitOK
	}
	code := exitError
	var ee *exitErr
	switch {
	case errors.As(err, &ee):
		code = ee.code
		if ee.err == nil {
			return code
		}
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		code = exitCancelled
	case errors.Is(err, matter.ErrWrongKey):
		// The verifier key where the signer key belongs, or the other
		// way round: a usage error on every command, as verify has it.
		code = exitUsage
	case errors.Is(err, ledger.ErrInconsistent) || errors.Is(err, ledger.ErrCorrupt):
		// Integrity failures, whichever command meets them: a ledger
		// that contradicts itself, a file SQLite reports damaged.
		code = exitFindings
	}
	// An error can carry what an export, an API response or the ledger
	// holds (a hold's reason, an id): no escape sequence of theirs
	// reaches the terminal raw (exportfile.SafeMessage: as the diff's
	// summary shows an id, '\x1b', '\u202e').
	msg := exportfile.SafeMessage(cleanChain(err.Error()))
	if code == exitCancelled && ee == nil {
		// The cause is the user's Ctrl-C: "context canceled" says
		// nothing more, what matters is whether the work is kept.
		msg = "cancelled"
		if cmd != nil && cmd.Annotations[resumableAnnotation] != "" {
			msg = "cancelled; state saved, rerun the same command to resume"
		}
	}
	const usageHint = "run 'custody --help' or 'custody COMMAND --help' for usage"
	// An error that knows what the user should set (an S3 failure: the
	// flag or environment variable) says so on a line of its own.
	var hint string
	var h interface{ Hint() string }
	if errors.As(err, &h) && code != exitCancelled {
		hint = exportfile.SafeMessage(h.Hint())
	}
	if g.LogFormat == "json" {
		args := []any{"error", msg, "exit_code", code}
		switch {
		case code == exitUsage:
			args = append(args, "hint", usageHint)
		case hint != "":
			args = append(args, "hint", hint)
		}
		slog.New(slog.NewJSONHandler(g.stderr, nil)).Error(exitMessage(code), args...)
		return code
	}
	fmt.Fprintf(g.stderr, "custody: %s\n", msg)
	switch {
	case code == exitUsage:
		fmt.Fprintf(g.stderr, "custody: %s\n", usageHint)
	case hint != "":
		fmt.Fprintf(g.stderr, "custody: hint: %s\n", hint)
	}
	return code
}

// exitMessage is the msg of a JSON error: what kind of failure ended the
// command.
func exitMessage(code int) string {
	switch code {
	case exitUsage:
		return "usage error"
	case exitFindings:
		return "verification failed, findings present or work left"
	case exitUnsigned:
		// Not "error": every check held, and a script reading msg
		// should not take it for a failure to check.
		return "unsigned or recalled"
	case exitCancelled:
		return "cancelled"
	}
	return "error"
}

// cleanChain drops from an error message the operation prefixes that
// repeat one already given: wrapping layers that each name their
// operation ("verify: evidence: " around "evidence: verify: ") would
// otherwise print "verify: verify: evidence: evidence: verify: walk …".
// A prefix is a leading segment of one lower-case word; the first
// segment that is not one ends the prefixes, and the rest is kept as is.
func cleanChain(msg string) string {
	parts := strings.Split(msg, ": ")
	seen := map[string]bool{}
	out := parts[:0:0]
	for i, p := range parts {
		if !isPrefixWord(p) || i == len(parts)-1 {
			out = append(out, parts[i:]...)
			break
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return strings.Join(out, ": ")
}

// isPrefixWord reports whether s is one lower-case word, like the
// operation prefixes errors carry ("verify", "evidence", "ledger").
func isPrefixWord(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}
