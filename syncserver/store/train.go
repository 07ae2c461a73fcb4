package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/match"
)

// TrainResult is a model trained from the registry and stored as the one
// in use.
type TrainResult struct {
	ID     int64             `json:"id"` // the row of match_models
	Model  *match.Model      `json:"model"`
	Report match.TrainReport `json:"report"`
}

// TrainModel estimates the matching model's m and u probabilities from the
// live residents by expectation maximisation (match.Train, starting from
// the model in use), stores it, and makes it the model matching uses from
// now on. Residents already matched keep their persons: a new model
// decides for what arrives next.
//
// The residents are read and the model estimated without holding the
// matcher, so ingest and matching carry on meanwhile; only storing the
// result waits for a running match batch to finish.
func (s *Store) TrainModel(ctx context.Context, opt match.TrainOptions) (TrainResult, error) {
	records, err := s.liveFeatures(ctx)
	if err != nil {
		return TrainResult{}, fmt.Errorf("train: %w", err)
	}
	if len(records) < 2 {
		return TrainResult{}, &schema.Error{Code: schema.ECONFLICT,
			Message: fmt.Sprintf("training needs residents to learn from; the registry has %d", len(records))}
	}
	model, rep, err := match.Train(records, s.Model(), opt)
	if err != nil {
		return TrainResult{}, fmt.Errorf("train: %w", err)
	}
	body, err := json.Marshal(model)
	if err != nil {
		return TrainResult{}, fmt.Errorf("train: %w", err)
	}
	report, err := json.Marshal(rep)
	if err != nil {
		return TrainResult{}, fmt.Errorf("train: %w", err)
	}

	s.match.mu.Lock()
	defer s.match.mu.Unlock()
	var id int64
	if err := s.db.QueryRowContext(ctx, `INSERT INTO match_models (model, report, created_at) VALUES (?, ?, ?) RETURNING id`,
		string(body), string(report), formatTime(s.now())).Scan(&id); err != nil {
		return TrainResult{}, fmt.Errorf("train: store model: %w", err)
	}
	s.match.model, s.match.modelID = model, id
	return TrainResult{ID: id, Model: model.Clone(), Report: rep}, nil
}

// liveFeatures returns the features of every live resident in arrival
// order, as the matcher saw them.
func (s *Store) liveFeatures(ctx context.Context) ([]match.Features, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT r.data, COALESCE(h.data, '{}') FROM residents r
		LEFT JOIN households h ON h.id = r.household_id
		WHERE r.deleted = 0 ORDER BY r.rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []match.Features
	for rows.Next() {
		var rd, hd string
		if err := rows.Scan(&rd, &hd); err != nil {
			return nil, err
		}
		f, _, err := residentFeatures(rd, hd)
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}
