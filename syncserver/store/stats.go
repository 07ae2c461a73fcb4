package store

import (
	"context"
	"fmt"
)

// Stats is the registry at a glance (DESIGN.md §11 fixes the first keys).
// Persons, review tasks and cards stay zero until matching and cards exist.
type Stats struct {
	Households int64        `json:"households"`
	Residents  int64        `json:"residents"`
	Persons    int64        `json:"persons"`
	ReviewOpen int64        `json:"review_open"`
	Cards      CardCounts   `json:"cards"`
	Devices    int64        `json:"devices"`
	Batches    int64        `json:"batches"`
	Records    RecordCounts `json:"records"`
	// Matching: residents joined to an existing person by the matcher,
	// persons merged into another, residents waiting for the matcher.
	AutoLinks     int64 `json:"auto_links"`
	Merged        int64 `json:"merged"`
	MatchPending  int64 `json:"match_pending"`
	ReviewDecided int64 `json:"review_decided"`
}

// CardCounts counts cards by status.
type CardCounts struct {
	Queued     int64 `json:"queued"`
	Printed    int64 `json:"printed"`
	Dispatched int64 `json:"dispatched"`
	Delivered  int64 `json:"delivered"`
	Revoked    int64 `json:"revoked"`
}

// RecordCounts totals the results of every batch received, counting each
// batch once however often it was re-sent.
type RecordCounts struct {
	Accepted  int64 `json:"accepted"`
	Duplicate int64 `json:"duplicate"`
	Stale     int64 `json:"stale"`
	Rejected  int64 `json:"rejected"`
}

// Stats counts live households and residents, devices that are not
// revoked, and batches received.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	// Each count reads a narrow index that covers (…, deleted), not the
	// tables with their JSON, so stats stay fast on millions of rows.
	err := s.rdb.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM households WHERE deleted = 0),
		(SELECT COUNT(*) FROM residents WHERE deleted = 0),
		(SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL),
		(SELECT COUNT(*) FROM batches),
		(SELECT COALESCE(SUM(accepted), 0) FROM batches),
		(SELECT COALESCE(SUM(duplicate), 0) FROM batches),
		(SELECT COALESCE(SUM(stale), 0) FROM batches),
		(SELECT COALESCE(SUM(rejected), 0) FROM batches)`).
		Scan(&st.Households, &st.Residents, &st.Devices, &st.Batches,
			&st.Records.Accepted, &st.Records.Duplicate, &st.Records.Stale, &st.Records.Rejected)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	err = s.rdb.QueryRowContext(ctx, `SELECT
		(SELECT n FROM match_terms WHERE term = '#persons'),
		(SELECT COUNT(*) FROM persons WHERE status = 'merged'),
		(SELECT COUNT(*) FROM review_tasks WHERE status = 'open'),
		(SELECT COUNT(*) FROM review_tasks WHERE status IN ('same', 'different') AND probability > 0),
		(SELECT COUNT(*) FROM residents WHERE match_state = 'pending'),
		(SELECT COUNT(*) FROM person_links WHERE kind = 'link' AND reason = 'auto') +
		(SELECT COUNT(*) FROM person_links WHERE kind = 'merge' AND reason = 'auto')`).
		Scan(&st.Persons, &st.Merged, &st.ReviewOpen, &st.ReviewDecided, &st.MatchPending, &st.AutoLinks)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT status, COUNT(*) FROM cards GROUP BY status`)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return Stats{}, fmt.Errorf("stats: %w", err)
		}
		switch status {
		case CardQueued:
			st.Cards.Queued = n
		case CardPrinted:
			st.Cards.Printed = n
		case CardDispatched:
			st.Cards.Dispatched = n
		case CardDelivered:
			st.Cards.Delivered = n
		case CardRevoked:
			st.Cards.Revoked = n
		}
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}
