package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/ledger"
)

// Exit codes, documented under EXIT STATUS in every command's help.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitFindings  = 3 // verification failed (every integrity failure), findings present, or some work failed
	exitCancelled = 130
)

// exitStatusHelp is appended to each command's long help.
const exitStatusHelp = `
EXIT STATUS
  0    success
  1    error (bad input, I/O, fatal API error)
  2    usage error (unknown flag, missing argument)
  3    verification failed — any integrity failure: a check of the ledger,
       a key or checkpoint of another ledger, a damaged ledger file, a
       ledger custody refuses to sign or prove — findings present, or
       some items failed (resumable)
  130  cancelled (Ctrl-C); state is saved and the command can be rerun`

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

// usageError marks err as a usage error (exit 2) with a hint.
func usageError(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// exitCode maps an error returned by a command to the process exit code and
// prints it once, prefixed "custody:", to stderr.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
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
	case errors.Is(err, ledger.ErrInconsistent) || errors.Is(err, ledger.ErrCorrupt):
		// Integrity failures, whichever command meets them: a ledger
		// that contradicts itself, a file SQLite reports damaged.
		code = exitFindings
	}
	fmt.Fprintf(stderr, "custody: %v\n", err)
	if code == exitUsage {
		fmt.Fprintln(stderr, "custody: run 'custody --help' or 'custody COMMAND --help' for usage")
	}
	return code
}
