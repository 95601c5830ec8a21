package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// shutdownGrace is how long a server that Ctrl-C or SIGTERM stopped
// waits for the requests it is still answering before it cuts them (a
// variable for tests).
var shutdownGrace = 5 * time.Second

// stopServer ends a server (witness serve, sim serve, sim tsa) whose
// context Ctrl-C or SIGTERM has ended: shutdown is its graceful shutdown,
// given shutdownGrace, and closeAll (nil if shutdown cuts them itself)
// closes what is still open after it. See serverStopped for the outcome.
func stopServer(g *globalOptions, name string, shutdown func(context.Context) error, closeAll func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := shutdown(ctx)
	return serverStopped(g, name, err, ctx.Err() != nil, closeAll)
}

// serverStopped maps the end of a server's graceful shutdown (err; late:
// its grace ran out) to what the command returns. Being stopped is a
// server's normal end, as its help says: exit 0, also when requests were
// still open after the grace, which are cut and a warning says so.
// Another failure is exit 1 with its message, marked so: the command's
// context is done, and a plain error would be taken for a cancellation
// (130, "cancelled"), which a server's Ctrl-C is not.
func serverStopped(g *globalOptions, name string, err error, late bool, closeAll func() error) error {
	if errors.Is(err, context.DeadlineExceeded) || (err == nil && late) {
		if closeAll != nil {
			_ = closeAll()
		}
		g.warn(fmt.Sprintf("%s: stopped; requests still open %s after Ctrl-C or SIGTERM were cut", name, shutdownGrace))
		return nil
	}
	if err != nil {
		return withCode(exitError, fmt.Errorf("%s: shutdown: %w", name, err))
	}
	return nil
}
