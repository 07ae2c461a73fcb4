-- The server's store (issue 2): registered laptops, API tokens, the
-- households and residents they sync, the batches they sent, and the
-- change log laptops pull. Times are RFC 3339 UTC text. Secrets are never
-- stored: one-time codes and tokens only as SHA-256, keys in files.

-- A device is one survey laptop. code_hash is the SHA-256 of its one-time
-- registration code (normalised), usable once before code_expires_at.
CREATE TABLE devices (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	area            TEXT NOT NULL DEFAULT '',
	code_hash       TEXT NOT NULL UNIQUE,
	code_expires_at TEXT NOT NULL,
	code_used       INTEGER NOT NULL DEFAULT 0,
	hostname        TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	registered_at   TEXT,
	last_sync_at    TEXT,
	revoked_at      TEXT
) STRICT;

-- A token is a bearer credential. Device tokens carry the device's id;
-- other names are unique among live tokens so `token revoke NAME` is exact.
CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	device_id  TEXT REFERENCES devices(id),
	created_at TEXT NOT NULL,
	revoked_at TEXT
) STRICT;
CREATE UNIQUE INDEX tokens_live_name ON tokens(name) WHERE revoked_at IS NULL AND device_id IS NULL;

-- Households and residents keep the latest version of each record as the
-- validated JSON in data; only the columns queries filter on are broken
-- out, and indexes are few because every one slows the ingest path.
-- A tombstone is a row with deleted = 1, so an older version sent later is
-- still answered stale.
CREATE TABLE households (
	id          TEXT PRIMARY KEY,
	device_id   TEXT NOT NULL REFERENCES devices(id),
	version     INTEGER NOT NULL,
	deleted     INTEGER NOT NULL DEFAULT 0,
	area        TEXT NOT NULL DEFAULT '',
	pincode     TEXT NOT NULL DEFAULT '',
	data        TEXT NOT NULL,
	received_at TEXT NOT NULL,
	updated_at  TEXT NOT NULL
) STRICT;
-- (area, deleted) also covers counting live households without reading data.
CREATE INDEX households_area ON households(area, deleted);

CREATE TABLE residents (
	id           TEXT PRIMARY KEY,
	device_id    TEXT NOT NULL REFERENCES devices(id),
	household_id TEXT REFERENCES households(id), -- NULL only for a tombstone of a record never seen
	version      INTEGER NOT NULL,
	deleted      INTEGER NOT NULL DEFAULT 0,
	data         TEXT NOT NULL,
	received_at  TEXT NOT NULL,
	updated_at   TEXT NOT NULL
) STRICT;
-- (household_id, deleted) serves the foreign key, a household's members,
-- and counting live residents without reading data.
CREATE INDEX residents_household ON residents(household_id, deleted);

-- One row per batch received, the first time it is applied.
CREATE TABLE batches (
	batch_id    TEXT PRIMARY KEY,
	device_id   TEXT NOT NULL REFERENCES devices(id),
	received_at TEXT NOT NULL,
	records     INTEGER NOT NULL,
	accepted    INTEGER NOT NULL,
	duplicate   INTEGER NOT NULL,
	stale       INTEGER NOT NULL,
	rejected    INTEGER NOT NULL,
	bytes       INTEGER NOT NULL
) STRICT;

-- What a laptop pulls about its own records (health ID issued, matched,
-- card status). AUTOINCREMENT so a sequence number is never reused and a
-- laptop's cursor never skips a change.
CREATE TABLE changes (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	device_id  TEXT NOT NULL REFERENCES devices(id),
	record_id  TEXT NOT NULL,
	kind       TEXT NOT NULL,
	data       TEXT NOT NULL DEFAULT '{}',
	created_at TEXT NOT NULL
) STRICT;
CREATE INDEX changes_device ON changes(device_id, seq);
