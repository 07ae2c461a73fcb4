-- The laptop's store. Each record keeps only its latest version: the server
-- is the history. An outbox row says "this version still has to reach the
-- server"; it is written in the same transaction as the record, so a pulled
-- plug never leaves a saved record that sync forgets.

-- One row per setting: server_url, device_id, device_name, area,
-- device_token, aadhaar_key (base64), changes_cursor, last_sync.
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE households (
	id             TEXT PRIMARY KEY,
	version        INTEGER NOT NULL CHECK (version >= 1),
	data           TEXT NOT NULL, -- schema.Household as JSON, without members: the wire form
	sync_status    TEXT NOT NULL DEFAULT 'pending' CHECK (sync_status IN ('pending', 'synced', 'rejected')),
	reject_code    TEXT,
	reject_field   TEXT,
	reject_message TEXT,
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	synced_at      TEXT
);

CREATE TABLE residents (
	id             TEXT PRIMARY KEY,
	household_id   TEXT NOT NULL REFERENCES households (id),
	position       INTEGER NOT NULL, -- order within the household, as entered
	version        INTEGER NOT NULL CHECK (version >= 1),
	deleted        INTEGER NOT NULL DEFAULT 0, -- a removed member stays as a tombstone until the server has it
	data           TEXT NOT NULL, -- schema.Resident as JSON with household_id and no aadhaar: the wire form
	sync_status    TEXT NOT NULL DEFAULT 'pending' CHECK (sync_status IN ('pending', 'synced', 'rejected')),
	reject_code    TEXT,
	reject_field   TEXT,
	reject_message TEXT,
	health_id      TEXT, -- from the server's changes, once issued
	card_status    TEXT,
	server_note    TEXT,
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	synced_at      TEXT
);

CREATE INDEX residents_household ON residents (household_id, position);

-- One row per record at most: a new version of a record still waiting
-- updates its row in place, which keeps a household ahead of its residents.
CREATE TABLE outbox (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	kind      TEXT NOT NULL CHECK (kind IN ('household', 'resident')),
	record_id TEXT NOT NULL,
	version   INTEGER NOT NULL,
	UNIQUE (kind, record_id)
);

-- A keyed hash of every imported line, never the line: lines carry Aadhaar
-- numbers in the clear.
CREATE TABLE import_log (
	line_hash    TEXT PRIMARY KEY,
	household_id TEXT NOT NULL,
	imported_at  TEXT NOT NULL
);
