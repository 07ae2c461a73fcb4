package schema

import "encoding/json"

// SchemaVersion is the version of the wire format a laptop speaks. The
// server rejects a batch from a newer version it does not understand.
const SchemaVersion = 1

// Sync limits. Over a limit is a 413 or 422 for the whole batch, never a
// partial apply.
const (
	MaxRecordsPerBatch = 1000
	MaxBatchBytes      = 8 << 20 // decompressed body
	MaxGzipBytes       = 2 << 20 // compressed body on the wire
	DefaultBatchSize   = 200
)

// Record kinds.
const (
	KindHousehold = "household"
	KindResident  = "resident"
)

// Per-record results of a batch.
const (
	StatusAccepted  = "accepted"
	StatusDuplicate = "duplicate"
	StatusStale     = "stale"
	StatusRejected  = "rejected"
)

// Roles of API tokens (DESIGN.md §9).
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleDevice     = "device"
	RolePrinter    = "printer"
	RoleHospital   = "hospital"
)

// Roles lists every role a token may have.
var Roles = []string{RoleAdmin, RoleSupervisor, RoleDevice, RolePrinter, RoleHospital}

// Batch is what a laptop pushes: records from its outbox, in the order
// they were saved (a household before its residents).
type Batch struct {
	BatchID       string   `json:"batch_id"`
	DeviceID      string   `json:"device_id"`
	SchemaVersion int      `json:"schema_version"`
	Records       []Record `json:"records"`
}

// Record is one version of one household or resident. Data is the
// Household (without members) or the Resident (with household_id) as JSON.
type Record struct {
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Version int64           `json:"version"`
	Deleted bool            `json:"deleted,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// RecordResult is the server's answer for one record of a batch.
type RecordResult struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Status  string `json:"status"`
	Code    string `json:"code,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message,omitempty"`
}

// BatchResult is the server's answer for a whole batch.
type BatchResult struct {
	BatchID string         `json:"batch_id"`
	Results []RecordResult `json:"results"`
}

// Counts tallies results by status.
func (b *BatchResult) Counts() (accepted, duplicate, stale, rejected int) {
	for _, r := range b.Results {
		switch r.Status {
		case StatusAccepted:
			accepted++
		case StatusDuplicate:
			duplicate++
		case StatusStale:
			stale++
		case StatusRejected:
			rejected++
		}
	}
	return
}

// Registration is what `surveyor init` sends with the one-time code from
// `syncserver device add`.
type Registration struct {
	Code     string `json:"code"`
	Hostname string `json:"hostname,omitempty"`
}

// Registered is the server's answer to a registration: the device's
// identity, its bearer token (shown once) and the deployment's key for
// hashing Aadhaar numbers on the laptop.
type Registered struct {
	DeviceID   string `json:"device_id"`
	Name       string `json:"name"`
	Area       string `json:"area,omitempty"`
	Token      string `json:"token"`
	AadhaarKey string `json:"aadhaar_key"` // base64
}

// Change tells a laptop something the server learnt about one of its own
// records: a health ID issued, a match to an existing person, a card's
// status. Kinds are open so later features add their own.
type Change struct {
	Seq        int64  `json:"seq"`
	Kind       string `json:"kind"`
	RecordID   string `json:"record_id"`
	HealthID   string `json:"health_id,omitempty"`
	CardStatus string `json:"card_status,omitempty"`
	Message    string `json:"message,omitempty"`
	At         string `json:"at"`
}

// Changes is the answer of GET /api/v1/sync/changes.
type Changes struct {
	Changes []Change          `json:"changes"`
	Cursor  int64             `json:"cursor"`
	More    bool              `json:"more"`
	Keys    []json.RawMessage `json:"keys,omitempty"` // the server's public signing keys, once cards exist
}

// Problem is the JSON body of every API error (RFC 9457 problem details
// with our stable code and the offending field).
type Problem struct {
	Type    string   `json:"type,omitempty"`
	Title   string   `json:"title"`
	Status  int      `json:"status"`
	Code    string   `json:"code"`
	Field   string   `json:"field,omitempty"`
	Rule    string   `json:"rule,omitempty"`
	Message string   `json:"message"`
	Errors  []*Error `json:"errors,omitempty"`
}
