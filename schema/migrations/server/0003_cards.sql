-- Health IDs and cards (issue 4). A health ID is issued once, to the
-- person matching made, and never reused: a merged person's ID stays here,
-- answering as an alias of the survivor through persons.merged_into.
CREATE TABLE health_ids (
	health_id TEXT PRIMARY KEY, -- 14 digits, no dashes
	person_id TEXT NOT NULL UNIQUE REFERENCES persons(id),
	issued_at TEXT NOT NULL
) STRICT;

-- A print job takes queued cards of one printing centre; its cards stay
-- queued until the centre confirms the job printed, so a job that dies
-- half-way loses nothing and prints nothing twice.
CREATE TABLE print_jobs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	centre       TEXT NOT NULL,
	status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'cancelled')),
	cards        INTEGER NOT NULL,
	created_at   TEXT NOT NULL,
	created_by   TEXT NOT NULL,
	confirmed_at TEXT,
	confirmed_by TEXT
) STRICT;

-- One row per printed card version. At most one card of a person is not
-- revoked at any time. qr is the signed payload as printed. problem holds
-- why a card cannot be printed (a name outside what the card font has);
-- such a card waits, listed, until the name is corrected.
CREATE TABLE cards (
	serial         TEXT PRIMARY KEY,
	person_id      TEXT NOT NULL REFERENCES persons(id),
	health_id      TEXT NOT NULL REFERENCES health_ids(health_id),
	version        INTEGER NOT NULL,
	status         TEXT NOT NULL CHECK (status IN ('queued', 'printed', 'dispatched', 'delivered', 'revoked')),
	revoked_reason TEXT,
	centre         TEXT NOT NULL,
	print_job      INTEGER REFERENCES print_jobs(id),
	card           TEXT NOT NULL, -- what the card shows, as JSON
	qr             TEXT NOT NULL,
	problem        TEXT,
	issued_at      TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	UNIQUE (person_id, version)
) STRICT;
CREATE INDEX cards_queue ON cards(centre, status, print_job);
CREATE INDEX cards_job ON cards(print_job);
CREATE UNIQUE INDEX cards_one_valid ON cards(person_id) WHERE status != 'revoked';
