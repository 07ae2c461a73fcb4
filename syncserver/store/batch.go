package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// ApplyBatch applies a laptop's batch in one transaction, as
// docs/sync-protocol.md describes, and answers one result per record in
// order. deviceID is who sends it: the device of the request's token, or for
// an import the batch's own device. wireBytes is the size it travelled as,
// for the batch log.
//
// A whole-batch error (a *schema.Error) applies nothing. A record that
// breaks a rule is rejected with a code and field and writes nothing; the
// rest of the batch is still applied. Idempotency is per (id, version):
// the same batch applied twice changes nothing the second time.
func (s *Store) ApplyBatch(ctx context.Context, deviceID string, b schema.Batch, wireBytes int) (schema.BatchResult, error) {
	if err := s.checkBatch(deviceID, &b); err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: %w", b.BatchID, err)
	}
	// Decoding, validating and re-encoding happen before the write lock is
	// taken, so concurrent requests do that work in parallel and the
	// transaction holds the single writer only for lookups and writes.
	now := s.now()
	prep := make([]prepared, len(b.Records))
	for i := range b.Records {
		prep[i] = prepare(&b.Records[i], now)
	}

	tx, err := s.beginTx(ctx)
	if err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: %w", b.BatchID, err)
	}
	defer tx.Rollback()

	if err := checkDevice(ctx, tx, deviceID); err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: %w", b.BatchID, err)
	}
	ap, err := newApplier(ctx, tx, deviceID, formatTime(now))
	if err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: %w", b.BatchID, err)
	}
	defer ap.close()
	if err := ap.prefetch(ctx, tx, prep); err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: %w", b.BatchID, err)
	}

	res := schema.BatchResult{BatchID: b.BatchID, Results: make([]schema.RecordResult, len(prep))}
	for i := range prep {
		r, err := ap.apply(ctx, &prep[i])
		if err != nil {
			return schema.BatchResult{}, fmt.Errorf("apply batch %s: record %d (%s %s): %w",
				b.BatchID, i, prep[i].rec.Kind, prep[i].rec.ID, err)
		}
		res.Results[i] = r
	}
	if err := ap.flush(ctx); err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: %w", b.BatchID, err)
	}

	acc, dup, stale, rej := res.Counts()
	if _, err := tx.ExecContext(ctx, `INSERT INTO batches
		(batch_id, device_id, received_at, records, accepted, duplicate, stale, rejected, bytes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		b.BatchID, deviceID, ap.now, len(prep), acc, dup, stale, rej, wireBytes); err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: log batch: %w", b.BatchID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET last_sync_at = ? WHERE id = ?`, ap.now, deviceID); err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: %w", b.BatchID, err)
	}
	if err := tx.Commit(); err != nil {
		return schema.BatchResult{}, fmt.Errorf("apply batch %s: commit: %w", b.BatchID, err)
	}
	if acc > 0 {
		s.wakeMatcher()
	}
	return res, nil
}

// checkBatch finds what makes the whole batch unacceptable, before any
// record is looked at, so such a batch applies nothing.
func (s *Store) checkBatch(deviceID string, b *schema.Batch) error {
	invalid := func(field, rule, format string, args ...any) error {
		return &schema.Error{Code: schema.EINVALID, Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case b.BatchID == "":
		return invalid("batch_id", "required", "is required")
	case len(b.BatchID) > schema.MaxIDLen:
		return invalid("batch_id", "max_length", "must be at most %d characters", schema.MaxIDLen)
	case !schema.ValidID(b.BatchID):
		return invalid("batch_id", "id_format", schema.IDFormat)
	case b.DeviceID == "":
		return invalid("device_id", "required", "is required")
	case b.DeviceID != deviceID:
		return &schema.Error{Code: schema.EFORBIDDEN, Field: "device_id", Rule: "own_device",
			Message: fmt.Sprintf("batch is from device %s, but the credential is for device %s", b.DeviceID, deviceID)}
	case b.SchemaVersion < 1:
		return invalid("schema_version", "required", "is required (this server speaks %d)", schema.SchemaVersion)
	case b.SchemaVersion > schema.SchemaVersion:
		return invalid("schema_version", "supported", "%d is newer than this server's %d; update the server first", b.SchemaVersion, schema.SchemaVersion)
	case s.maxRecords > 0 && len(b.Records) > s.maxRecords:
		return &schema.Error{Code: schema.ETOOLARGE, Field: "records", Rule: "max_items",
			Message: fmt.Sprintf("batch has %d records; the limit is %d", len(b.Records), s.maxRecords)}
	}
	for i, r := range b.Records {
		if r.Kind != schema.KindHousehold && r.Kind != schema.KindResident {
			return invalid(fmt.Sprintf("records[%d].kind", i), "one_of", "must be %s or %s, not %q", schema.KindHousehold, schema.KindResident, r.Kind)
		}
	}
	return nil
}

// checkDevice refuses a batch from a device that is not registered here or
// has been revoked. Inside the transaction, so a revocation that commits
// first is always seen.
func checkDevice(ctx context.Context, tx *sql.Tx, deviceID string) error {
	var revoked sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM devices WHERE id = ?`, deviceID).Scan(&revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &schema.Error{Code: schema.ENOTFOUND, Field: "device_id", Message: fmt.Sprintf("device %s is not registered on this server", deviceID)}
	case err != nil:
		return err
	case revoked.Valid:
		return schema.Errorf(schema.EUNAUTHORIZED, "device %s was revoked at %s", deviceID, revoked.String)
	}
	return nil
}

// prepared is a record decoded and validated outside the transaction.
type prepared struct {
	rec   *schema.Record
	early *schema.Error // rejects the record before it is looked up
	bad   *schema.Error // rejects the record unless it is a duplicate or stale
	data  string        // canonical JSON to store

	householdID   string // resident: its household
	area, pincode string // household: its indexed columns
}

func prepare(rec *schema.Record, now time.Time) prepared {
	p := prepared{rec: rec}
	switch {
	case rec.ID == "":
		p.early = &schema.Error{Code: schema.EINVALID, Field: "id", Rule: "required", Message: "is required"}
		return p
	case len(rec.ID) > schema.MaxIDLen:
		p.early = &schema.Error{Code: schema.EINVALID, Field: "id", Rule: "max_length", Message: fmt.Sprintf("must be at most %d characters", schema.MaxIDLen)}
		return p
	case !schema.ValidID(rec.ID):
		// Checked here too, for tombstones, whose data is not validated.
		p.early = &schema.Error{Code: schema.EINVALID, Field: "id", Rule: "id_format", Message: schema.IDFormat}
		return p
	case rec.Version < 1:
		p.early = &schema.Error{Code: schema.EINVALID, Field: "version", Rule: "min", Message: "must be 1 or more"}
		return p
	}
	if rec.Deleted {
		return p // a tombstone carries no data worth checking
	}
	if len(rec.Data) == 0 || string(rec.Data) == "null" {
		p.bad = &schema.Error{Code: schema.EINVALID, Field: "data", Rule: "required", Message: "is required unless the record is deleted"}
		return p
	}
	switch rec.Kind {
	case schema.KindHousehold:
		var h schema.Household
		if p.bad = decodeData(rec, &h, &h.ID); p.bad != nil {
			return p
		}
		if err := h.ValidateRecord(now); err != nil {
			p.bad = firstError(err)
			return p
		}
		p.area, p.pincode = h.Area, h.Address.Pincode
		p.data, p.bad = encodeData(&h)
	case schema.KindResident:
		var r schema.Resident
		if p.bad = decodeData(rec, &r, &r.ID); p.bad != nil {
			return p
		}
		if err := r.ValidateRecord(now); err != nil {
			p.bad = firstError(err)
			return p
		}
		p.householdID = r.HouseholdID
		p.data, p.bad = encodeData(&r)
	}
	return p
}

// decodeData decodes a record's data into v, whose id field is id: an
// absent id is the record's, a different one is an error.
func decodeData(rec *schema.Record, v any, id *string) *schema.Error {
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return decodeError(err)
	}
	switch {
	case *id == "":
		*id = rec.ID
	case *id != rec.ID:
		return &schema.Error{Code: schema.EINVALID, Field: "id", Rule: "match_record",
			Message: fmt.Sprintf("data has id %q but the record is %q", *id, rec.ID)}
	}
	return nil
}

// encodeData is what is stored: the decoded record re-encoded, so fields
// the server does not know are dropped rather than kept unvalidated.
func encodeData(v any) (string, *schema.Error) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for these plain structs; reject rather than fail the batch
		return "", &schema.Error{Code: schema.EINVALID, Field: "data", Message: "cannot be stored: " + err.Error()}
	}
	return string(b), nil
}

// decodeError turns a JSON type mismatch into a field error a survey
// worker's laptop can show next to the field.
func decodeError(err error) *schema.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "data"
		}
		return &schema.Error{Code: schema.EINVALID, Field: field, Rule: "type",
			Message: fmt.Sprintf("must be %s, not a JSON %s", describeType(te.Type), te.Value)}
	}
	return &schema.Error{Code: schema.EINVALID, Field: "data", Rule: "type", Message: "cannot be decoded: " + err.Error()}
}

func describeType(t reflect.Type) string {
	if t == nil {
		return "a value of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "a " + t.String()
}

// firstError reduces a validation failure to the one field a record result
// carries, keeping every broken rule in the message so they are fixed at
// once.
func firstError(err error) *schema.Error {
	var ve schema.ValidationErrors
	if errors.As(err, &ve) && len(ve) > 0 {
		e := *ve.First()
		if len(ve) > 1 {
			e.Message = ve.Error()
		}
		return &e
	}
	var se *schema.Error
	if errors.As(err, &se) {
		return se
	}
	return &schema.Error{Code: schema.EINVALID, Message: err.Error()}
}

// applier applies one batch: its records looked up together (prefetch),
// new ones inserted together (flush), the rest written one by one
// through the batch's prepared statements.
type applier struct {
	tx       *sql.Tx
	deviceID string
	now      string
	stmts    map[string]*kindStmts
	// rematch sends a changed household's matched members back to the
	// matcher: the address is evidence, and what the registry shows of
	// their persons (so the hospital feed hears of it).
	rematch *sql.Stmt
	// stored is what the registry holds of each record the batch names,
	// by kind and id, looked up for the whole batch at once (see
	// prefetch) and kept current as the batch writes. An id looked up and
	// not there maps to the zero storedRecord.
	stored map[string]map[string]storedRecord
	// inserts are the new records' rows, written together by flush:
	// households first, then residents, which refer to them.
	inserts map[string][][]any
}

// insertColumns are the columns of a new record's row, by kind, in the
// order of the rows in applier.inserts.
var insertColumns = map[string]struct{ table, columns, values string }{
	schema.KindHousehold: {"households", "id, device_id, version, deleted, area, pincode, data, received_at, updated_at", "(?, ?, ?, 0, ?, ?, ?, ?, ?)"},
	schema.KindResident:  {"residents", "id, device_id, version, deleted, household_id, data, received_at, updated_at", "(?, ?, ?, 0, ?, ?, ?, ?)"},
}

// insertChunk bounds the rows of one INSERT (9 parameters a household).
const insertChunk = 200

// flush writes the new records' rows kept by apply, a few hundred to a
// statement: on PostgreSQL one round trip for them instead of one each.
// Households go first, as residents refer to them. A resident update
// that names a household still waiting here flushes first (see apply).
func (a *applier) flush(ctx context.Context) error {
	for _, kind := range []string{schema.KindHousehold, schema.KindResident} {
		c := insertColumns[kind]
		for chunk := range slices.Chunk(a.inserts[kind], insertChunk) {
			var args []any
			for _, row := range chunk {
				args = append(args, row...)
			}
			q := `INSERT INTO ` + c.table + ` (` + c.columns + `) VALUES ` + c.values + strings.Repeat(", "+c.values, len(chunk)-1)
			if _, err := a.tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("insert %s: %w", c.table, err)
			}
		}
		delete(a.inserts, kind)
	}
	return nil
}

// storedRecord is a record's owner and version in the registry; owner is
// empty for a record not stored.
type storedRecord struct {
	owner   string
	version int64
}

// prefetchChunk bounds the ids of one lookup statement.
const prefetchChunk = 400

// prefetch looks up, a few hundred ids to a statement, every household
// and resident the batch names, and every household its residents belong
// to. One statement per few hundred records instead of one per record:
// on PostgreSQL each statement is a round trip, and the batch holds the
// writer lock throughout.
func (a *applier) prefetch(ctx context.Context, tx *sql.Tx, prep []prepared) error {
	ids := map[string][]string{schema.KindHousehold: nil, schema.KindResident: nil}
	seen := map[string]map[string]bool{schema.KindHousehold: {}, schema.KindResident: {}}
	add := func(kind, id string) {
		if id != "" && !seen[kind][id] {
			seen[kind][id] = true
			ids[kind] = append(ids[kind], id)
		}
	}
	for i := range prep {
		if prep[i].early != nil {
			continue
		}
		add(prep[i].rec.Kind, prep[i].rec.ID)
		if prep[i].rec.Kind == schema.KindResident {
			add(schema.KindHousehold, prep[i].householdID)
		}
	}
	a.stored = map[string]map[string]storedRecord{}
	for kind, table := range map[string]string{schema.KindHousehold: "households", schema.KindResident: "residents"} {
		known := make(map[string]storedRecord, len(ids[kind]))
		for chunk := range slices.Chunk(ids[kind], prefetchChunk) {
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
				known[id] = storedRecord{}
			}
			rows, err := tx.QueryContext(ctx, `SELECT id, device_id, version FROM `+table+
				` WHERE id IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
			if err != nil {
				return fmt.Errorf("look up %s: %w", table, err)
			}
			for rows.Next() {
				var id string
				var r storedRecord
				if err := rows.Scan(&id, &r.owner, &r.version); err != nil {
					rows.Close()
					return fmt.Errorf("look up %s: %w", table, err)
				}
				known[id] = r
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("look up %s: %w", table, err)
			}
		}
		a.stored[kind] = known
	}
	return nil
}

type kindStmts struct {
	update, tombstone, insertTombstone *sql.Stmt
}

func newApplier(ctx context.Context, tx *sql.Tx, deviceID, now string) (*applier, error) {
	a := &applier{tx: tx, deviceID: deviceID, now: now, stmts: map[string]*kindStmts{}}
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	a.stmts[schema.KindHousehold] = &kindStmts{
		update: prep(`UPDATE households SET version = ?3, deleted = 0, area = ?4, pincode = ?5, data = ?6, updated_at = ?7
			WHERE id = ?1 AND device_id = ?2`),
		tombstone: prep(`UPDATE households SET version = ?3, deleted = 1, updated_at = ?4 WHERE id = ?1 AND device_id = ?2`),
		insertTombstone: prep(`INSERT INTO households (id, device_id, version, deleted, data, received_at, updated_at)
			VALUES (?1, ?2, ?3, 1, '{}', ?4, ?4)`),
	}
	a.stmts[schema.KindResident] = &kindStmts{
		update: prep(`UPDATE residents SET version = ?3, deleted = 0, household_id = ?4, data = ?5, updated_at = ?6, match_state = 'pending'
			WHERE id = ?1 AND device_id = ?2`),
		tombstone: prep(`UPDATE residents SET version = ?3, deleted = 1, updated_at = ?4, match_state = 'pending' WHERE id = ?1 AND device_id = ?2`),
		insertTombstone: prep(`INSERT INTO residents (id, device_id, version, deleted, data, received_at, updated_at)
			VALUES (?1, ?2, ?3, 1, '{}', ?4, ?4)`),
	}
	a.rematch = prep(`UPDATE residents SET match_state = 'pending' WHERE household_id = ? AND deleted = 0 AND person_id IS NOT NULL`)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return a, nil
}

func (a *applier) close() {
	for _, k := range a.stmts {
		for _, st := range []*sql.Stmt{k.update, k.tombstone, k.insertTombstone} {
			if st != nil {
				st.Close()
			}
		}
	}
	if a.rematch != nil {
		a.rematch.Close()
	}
}

// apply decides one record's fate and writes it. The order of the checks
// is the contract: ownership first (another device's record is never
// revealed or touched), then the version (so re-sending anything already
// stored is always answered the same way, even if the rules have changed
// since), then validity, then references.
func (a *applier) apply(ctx context.Context, p *prepared) (schema.RecordResult, error) {
	rec := p.rec
	res := schema.RecordResult{Kind: rec.Kind, ID: rec.ID, Version: rec.Version}
	reject := func(e *schema.Error) (schema.RecordResult, error) {
		res.Status, res.Code, res.Field, res.Message = schema.StatusRejected, e.Code, e.Field, e.Message
		return res, nil
	}
	if p.early != nil {
		return reject(p.early)
	}
	st := a.stmts[rec.Kind]

	stored := a.stored[rec.Kind][rec.ID] // prefetch looked up every record that gets here
	owner, version, found := stored.owner, stored.version, stored.owner != ""
	switch {
	case found && owner != a.deviceID:
		return reject(&schema.Error{Code: schema.EFORBIDDEN, Field: "id", Rule: "own_records",
			Message: fmt.Sprintf("%s %s belongs to another device", rec.Kind, rec.ID)})
	case found && rec.Version == version:
		res.Status = schema.StatusDuplicate
		return res, nil
	case found && rec.Version < version:
		res.Status, res.Message = schema.StatusStale, fmt.Sprintf("the server has version %d", version)
		return res, nil
	case p.bad != nil:
		return reject(p.bad)
	}

	var err error
	switch {
	case rec.Deleted && found:
		_, err = st.tombstone.ExecContext(ctx, rec.ID, a.deviceID, rec.Version, a.now)
	case rec.Deleted:
		_, err = st.insertTombstone.ExecContext(ctx, rec.ID, a.deviceID, rec.Version, a.now)
	default:
		col4 := p.area // ?4 is a household's area and a resident's household_id
		if rec.Kind == schema.KindResident {
			// Stored before, or written earlier in this batch (prefetch
			// looked up every household the batch's residents name).
			if a.stored[schema.KindHousehold][p.householdID].owner == "" {
				return reject(&schema.Error{Code: schema.ENOTFOUND, Field: "household_id", Rule: "exists",
					Message: fmt.Sprintf("household %s is not on the server; send it before its residents", p.householdID)})
			}
			col4 = p.householdID
		}
		args := []any{rec.ID, a.deviceID, rec.Version, col4, p.pincode, p.data, a.now}
		if rec.Kind == schema.KindResident {
			// A resident has no pincode, and PostgreSQL wants every
			// parameter used.
			args = []any{rec.ID, a.deviceID, rec.Version, col4, p.data, a.now}
		}
		switch {
		case !found:
			// Written by flush, with the batch's other new records.
			if a.inserts == nil {
				a.inserts = map[string][][]any{}
			}
			a.inserts[rec.Kind] = append(a.inserts[rec.Kind], append(args, a.now))
		case rec.Kind == schema.KindResident && a.pendingHousehold(p.householdID):
			// Moved into a household new in this batch: it must be
			// written before the resident refers to it.
			if err = a.flushHouseholds(ctx); err == nil {
				_, err = st.update.ExecContext(ctx, args...)
			}
		default:
			_, err = st.update.ExecContext(ctx, args...)
		}
	}
	if err != nil {
		return res, err
	}
	a.stored[rec.Kind][rec.ID] = storedRecord{owner: a.deviceID, version: rec.Version}
	if rec.Kind == schema.KindHousehold && found {
		if _, err := a.rematch.ExecContext(ctx, rec.ID); err != nil {
			return res, err
		}
	}
	res.Status = schema.StatusAccepted
	return res, nil
}

// pendingHousehold reports whether household id waits in a.inserts.
func (a *applier) pendingHousehold(id string) bool {
	for _, row := range a.inserts[schema.KindHousehold] {
		if row[0] == id {
			return true
		}
	}
	return false
}

// flushHouseholds writes the new households kept so far.
func (a *applier) flushHouseholds(ctx context.Context) error {
	residents := a.inserts[schema.KindResident]
	delete(a.inserts, schema.KindResident)
	err := a.flush(ctx)
	if len(residents) > 0 {
		a.inserts[schema.KindResident] = residents
	}
	return err
}
