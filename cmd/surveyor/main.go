// Command surveyor runs on a survey worker's laptop: it enrols households
// offline into a local SQLite store and syncs them to the central server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/doorstep-health/doorstep/surveyor/cli"
)

func main() {
	// Ctrl-C or a shutdown cancels the context: every command stops between
	// transactions, so what was saved stays saved.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	f := &cli.Factory{
		IO: cli.IOStreams{
			In:          os.Stdin,
			Out:         os.Stdout,
			ErrOut:      os.Stderr,
			ErrTerminal: term.IsTerminal(int(os.Stderr.Fd())),
			InTerminal:  term.IsTerminal(int(os.Stdin.Fd())),
		},
		Getenv: os.Getenv,
	}
	code := cli.Run(ctx, f, os.Args[1:])
	stop()
	os.Exit(code)
}
