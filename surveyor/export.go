package surveyor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/doorstep-health/doorstep/schema"
)

// ExportReport tells what Export wrote.
type ExportReport struct {
	Records int `json:"records"`
	Batches int `json:"batches"`
}

// Export writes records as JSONL, one schema.Batch a line, exactly the
// batches a network sync would push, for `syncserver import` where there
// is no network. With all false it writes the outbox; with all true every
// record's latest version. Nothing is marked synced: only the server's
// acknowledgement over the network does that, and re-sending is harmless.
func (s *Store) Export(ctx context.Context, w io.Writer, all bool, batchSize int) (ExportReport, error) {
	var rep ExportReport
	if batchSize <= 0 {
		batchSize = schema.DefaultBatchSize
	}
	reg, err := s.Registration(ctx)
	if err != nil {
		return rep, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var buf []schema.Record
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		b := schema.Batch{BatchID: schema.NewID(), DeviceID: reg.DeviceID, SchemaVersion: schema.SchemaVersion, Records: buf}
		if err := enc.Encode(&b); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		rep.Batches++
		rep.Records += len(buf)
		buf = buf[:0]
		return nil
	}
	var after int64
	for {
		var recs []schema.Record
		var last int64
		if all {
			recs, last, err = s.allRecords(ctx, after, batchSize)
		} else {
			recs, last, err = s.pending(ctx, after, batchSize)
		}
		if err != nil {
			return rep, err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			buf = append(buf, r)
			if len(buf) == batchSize {
				if err := flush(); err != nil {
					return rep, err
				}
			}
		}
		after = last
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if err := bw.Flush(); err != nil {
		return rep, fmt.Errorf("export: %w", err)
	}
	return rep, nil
}
