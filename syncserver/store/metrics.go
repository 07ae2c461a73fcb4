package store

import (
	"context"
	"errors"
	"fmt"
)

// Tallies are totals since the database began, for the API's Prometheus
// counters. They are read from history the store keeps anyway, so they
// survive restarts and agree across every process that opens the file.
type Tallies struct {
	// What the matcher did with residents: joined one to an existing
	// person (a link, or folding a re-matched resident's own person in),
	// started a new person, or asked a supervisor. A review decision
	// also starts a person, which a "same" answer later merges, so it
	// counts under both MatchNew and MatchReview.
	MatchLinked int64
	MatchNew    int64
	MatchReview int64
	// CardsPrinted counts cards in print jobs a centre confirmed printed,
	// whatever has become of them since (dispatched, delivered, revoked).
	CardsPrinted int64
}

// Tallies counts what Stats, a snapshot of the registry, cannot: the
// history of matching and printing.
func (s *Store) Tallies(ctx context.Context) (Tallies, error) {
	var t Tallies
	// Persons are created by the matcher, or by a supervisor taking one
	// resident out of a person (an unlink recorded with reason manual);
	// the difference is the matcher's. Unmerge restores a person rather
	// than creating one.
	err := s.rdb.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM person_links WHERE kind IN ('link', 'merge') AND reason = 'auto'),
		(SELECT COUNT(*) FROM persons) -
		(SELECT COUNT(*) FROM person_links WHERE kind = 'unlink' AND reason = 'manual'),
		(SELECT COUNT(*) FROM review_tasks),
		(SELECT COUNT(*) FROM cards c JOIN print_jobs j ON j.id = c.print_job WHERE j.status = 'confirmed')`).
		Scan(&t.MatchLinked, &t.MatchNew, &t.MatchReview, &t.CardsPrinted)
	if err != nil {
		return Tallies{}, fmt.Errorf("tallies: %w", err)
	}
	return t, nil
}

// Ready reports whether the store can serve: a read on the reader pool
// and the write lock on the writer. It takes the lock the way every write
// does (BEGIN IMMEDIATE) and gives it back at once, so it finds a closed
// store, a read-only or vanished file, and a lock another process holds,
// without writing anything. While a batch holds the writer Ready waits for
// it, so ctx should bound how long a busy writer still counts as ready.
func (s *Store) Ready(ctx context.Context) error {
	select {
	case <-s.closing:
		return errors.New("ready: the store is closed")
	default:
	}
	var n int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("ready: read: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ready: write lock: %w", err)
	}
	if err := tx.Rollback(); err != nil {
		return fmt.Errorf("ready: write lock: %w", err)
	}
	return nil
}
