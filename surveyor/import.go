package surveyor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// Import limits.
const (
	// ImportChunk is how many lines commit together: large enough that the
	// fsync per commit is cheap per household, small enough that a killed
	// import loses little work.
	ImportChunk       = 500
	maxLineBytes      = 1 << 20
	maxReportedErrors = 1000
)

// ImportReport tells what an import did. Failed counts lines; Errors has
// one entry per broken rule, at most maxReportedErrors of them.
type ImportReport struct {
	Imported   int         `json:"imported"`
	Skipped    int         `json:"skipped"` // already on this laptop: imported before, or a known household id
	Failed     int         `json:"failed"`
	Errors     []LineError `json:"errors"`
	MoreErrors int         `json:"more_errors,omitempty"` // broken rules not listed in Errors
}

// LineError is one broken rule on one line of an import file.
type LineError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

func (e LineError) String() string {
	s := fmt.Sprintf("line %d: ", e.Line)
	if e.Field != "" {
		s += e.Field + " "
	}
	s += e.Message
	if e.Rule != "" {
		s += " (" + e.Rule + ")"
	}
	return s
}

func (rep *ImportReport) addErrors(errs []LineError) {
	for _, e := range errs {
		if len(rep.Errors) >= maxReportedErrors {
			rep.MoreErrors++
			continue
		}
		rep.Errors = append(rep.Errors, e)
	}
}

// Import reads households in the import format, one JSON object a line,
// and stores each like SaveHousehold. A line that breaks a rule is reported
// with its number, field and rule, and skipped; the rest goes in. Lines
// commit ImportChunk at a time, each household whole, so a killed import
// leaves only complete households, and running it again skips every line
// already imported (by a keyed hash of the line, and by household id) and
// completes the rest. progress, if not nil, gets the number of lines read
// after each commit.
func (s *Store) Import(ctx context.Context, r io.Reader, progress func(lines int)) (ImportReport, error) {
	rep := ImportReport{Errors: []LineError{}}
	reg, err := s.Registration(ctx)
	if err != nil {
		return rep, err
	}
	br := bufio.NewReaderSize(r, 256<<10)
	chunk := make([]importLine, 0, ImportChunk)
	lineNo := 0
	for {
		raw, readErr := br.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return rep, fmt.Errorf("import: read line %d: %w", lineNo+1, readErr)
		}
		if len(raw) > 0 {
			lineNo++
			if line := bytes.TrimSpace(raw); len(line) > 0 {
				chunk = append(chunk, importLine{no: lineNo, text: line})
			}
		}
		if len(chunk) == ImportChunk || (errors.Is(readErr, io.EOF) && len(chunk) > 0) {
			if err := s.importChunk(ctx, reg.AadhaarKey, chunk, &rep); err != nil {
				if ctx.Err() != nil {
					// A cancelled transaction fails with whatever statement
					// it was on; the cause worth reporting is the cancel.
					return rep, fmt.Errorf("import stopped before line %d: %w", chunk[0].no, ctx.Err())
				}
				return rep, err
			}
			chunk = chunk[:0]
			if progress != nil {
				progress(lineNo)
			}
		}
		if errors.Is(readErr, io.EOF) {
			return rep, nil
		}
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("import stopped after line %d: %w", lineNo, err)
		}
	}
}

type importLine struct {
	no   int
	text []byte
}

// importChunk stores one chunk of lines in one transaction. The report is
// only updated once the commit succeeded, so it never counts a household
// that a failed commit lost.
func (s *Store) importChunk(ctx context.Context, key []byte, lines []importLine, rep *ImportReport) error {
	now := s.now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer tx.Rollback()
	w, err := newWriter(ctx, tx, now)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer w.close()

	var imported, skipped, failed int
	var lineErrs []LineError
	for _, ln := range lines {
		hash := lineHash(key, ln.text)
		var n int
		if err := w.logged.QueryRowContext(ctx, hash).Scan(&n); err != nil {
			return fmt.Errorf("import line %d: %w", ln.no, err)
		}
		if n > 0 {
			skipped++
			continue
		}
		h, errs := parseImportLine(ln, key, now)
		if len(errs) > 0 {
			failed++
			lineErrs = append(lineErrs, errs...)
			continue
		}
		exists, err := w.householdExists(ctx, h.ID)
		if err != nil {
			return fmt.Errorf("import line %d: %w", ln.no, err)
		}
		if !exists {
			if err := w.checkMemberIDs(ctx, h, ""); err != nil {
				var se *schema.Error
				if !errors.As(err, &se) {
					return fmt.Errorf("import line %d: %w", ln.no, err)
				}
				failed++
				lineErrs = append(lineErrs, LineError{Line: ln.no, Field: se.Field, Rule: se.Rule, Message: se.Message})
				continue
			}
			if err := w.insertHousehold(ctx, h); err != nil {
				return fmt.Errorf("import line %d: %w", ln.no, err)
			}
		}
		if _, err := w.insLog.ExecContext(ctx, hash, h.ID, w.now); err != nil {
			return fmt.Errorf("import line %d: %w", ln.no, err)
		}
		if exists {
			skipped++
		} else {
			imported++
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	rep.Imported += imported
	rep.Skipped += skipped
	rep.Failed += failed
	rep.addErrors(lineErrs)
	return nil
}

// parseImportLine decodes, normalises, validates and protects one line.
func parseImportLine(ln importLine, key []byte, now time.Time) (*schema.Household, []LineError) {
	if len(ln.text) > maxLineBytes {
		return nil, []LineError{{Line: ln.no, Rule: "max_length", Message: fmt.Sprintf("is longer than %d bytes", maxLineBytes)}}
	}
	var h schema.Household
	if err := json.Unmarshal(ln.text, &h); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, []LineError{{Line: ln.no, Field: te.Field, Rule: "json_type", Message: fmt.Sprintf("must be a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)}}
		}
		return nil, []LineError{{Line: ln.no, Rule: "json", Message: "is not one household as a JSON object on one line: " + err.Error()}}
	}
	h.Normalize(now)
	if err := h.Validate(now); err != nil {
		var ve schema.ValidationErrors
		if !errors.As(err, &ve) {
			return nil, []LineError{{Line: ln.no, Message: err.Error()}}
		}
		out := make([]LineError, len(ve))
		for i, e := range ve {
			out[i] = LineError{Line: ln.no, Field: e.Field, Rule: e.Rule, Message: e.Message}
		}
		return nil, out
	}
	h.ProtectAadhaar(key)
	return &h, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "list"
	case "struct", "map", "ptr":
		return "object"
	}
	return "number"
}

// lineHash identifies an imported line without keeping it: keyed, because
// a line holds an Aadhaar number and a plain hash of a line whose other
// fields are known would give the number away by brute force.
func lineHash(key, line []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(line)
	return hex.EncodeToString(m.Sum(nil))
}
