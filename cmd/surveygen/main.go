// Command surveygen writes realistic synthetic survey households with
// known duplicates, in the import format (JSON lines), for the demo, tests
// and benchmarks.
//
//	surveygen --households 10000 --dup-rate 0.1 --seed 42 --out survey.jsonl
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/doorstep-health/doorstep/surveygen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "surveygen:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("surveygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opt   surveygen.Options
		out   string
		start string
		stats bool
	)
	fs.IntVar(&opt.Households, "households", 100, "household records to write, second enrolments included")
	fs.Float64Var(&opt.DupRate, "dup-rate", 0.1, "fraction of persons enrolled a second time by another team (0 to 1)")
	fs.Uint64Var(&opt.Seed, "seed", 1, "seed; the same seed writes the same bytes")
	fs.StringVar(&out, "out", "", "file to write (default standard output)")
	fs.StringVar(&start, "start", "", "first survey day and hour, RFC 3339 (default 2026-10-01T09:00:00+05:30)")
	fs.IntVar(&opt.Days, "days", 30, "length of the survey in days")
	fs.BoolVar(&stats, "stats", false, "print counts as JSON to standard error when done")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: surveygen --households N --dup-rate R --seed S [--out FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if opt.Households < 0 {
		return fmt.Errorf("--households must not be negative")
	}
	if opt.DupRate < 0 || opt.DupRate > 1 {
		return fmt.Errorf("--dup-rate must be between 0 and 1")
	}
	if start != "" {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return fmt.Errorf("--start: %w", err)
		}
		opt.Start = t
	}

	g := surveygen.New(opt)
	if out == "" {
		if err := g.Write(ctx, stdout); err != nil {
			return err
		}
	} else if err := writeFile(ctx, g, out); err != nil {
		return err
	}
	if stats {
		b, _ := json.Marshal(g.Stats())
		fmt.Fprintln(stderr, string(b))
	}
	return nil
}

// writeFile writes to a temporary file beside name and renames it into
// place, so an interrupted run never leaves half a file under the name.
func writeFile(ctx context.Context, g *surveygen.Generator, name string) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".surveygen-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := g.Write(ctx, f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
