-- Matching (issue 3): persons, the link of each resident to its person,
-- the blocking index, term counts for frequency adjustment, review tasks
-- and the history of merges that unmerge undoes.

-- A person is one human behind one or more residents. A merged person
-- points at its survivor and keeps existing, so its identifiers stay
-- answerable as aliases.
CREATE TABLE persons (
	id          TEXT PRIMARY KEY,
	status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'deceased')),
	merged_into TEXT REFERENCES persons(id),
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX persons_merged_into ON persons(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX persons_status ON persons(status);

-- match_state is 'pending' until the matcher has decided for the
-- resident's current version; an edit sets it back. person_id always names
-- an active person. link is how the resident joined it: new, auto, review
-- (a supervisor said same), or manual.
ALTER TABLE residents ADD COLUMN match_state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE residents ADD COLUMN person_id TEXT REFERENCES persons(id);
ALTER TABLE residents ADD COLUMN link TEXT;
ALTER TABLE residents ADD COLUMN match_fingerprint TEXT;
CREATE INDEX residents_match_pending ON residents(match_state) WHERE match_state = 'pending';
CREATE INDEX residents_person ON residents(person_id);

-- The blocking index: a new resident's candidates are the most recent
-- residents under each of its keys, one index range scan per key.
CREATE TABLE match_keys (
	key         TEXT NOT NULL,
	seq         INTEGER NOT NULL, -- the resident's rowid: arrival order
	resident_id TEXT NOT NULL,
	PRIMARY KEY (key, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX match_keys_resident ON match_keys(resident_id);

-- How many persons hold each term (folded name, phone, ...), for
-- term-frequency adjustment.
CREATE TABLE match_terms (
	term TEXT PRIMARY KEY,
	n    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A review task asks a supervisor whether two residents are one human.
-- pair (the two ids in order) is unique: a pair is asked about once, and
-- its decision is remembered for good.
CREATE TABLE review_tasks (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	pair        TEXT NOT NULL UNIQUE,
	resident_a  TEXT NOT NULL REFERENCES residents(id),
	resident_b  TEXT NOT NULL REFERENCES residents(id),
	probability REAL NOT NULL,
	weight      REAL NOT NULL,
	comparison  TEXT NOT NULL, -- match.Comparison as JSON: the evidence shown
	status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'same', 'different', 'void')),
	created_at  TEXT NOT NULL,
	decided_at  TEXT,
	decided_by  TEXT
) STRICT;
CREATE INDEX review_tasks_open ON review_tasks(status, probability DESC);

-- Every change of a resident's person, so unmerge can restore both sides
-- exactly. kind: merge (a person folded into a survivor), link (a resident
-- joined an existing person), unmerge, unlink.
CREATE TABLE person_links (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	kind      TEXT NOT NULL CHECK (kind IN ('merge', 'link', 'unmerge', 'unlink')),
	survivor  TEXT NOT NULL REFERENCES persons(id),
	merged    TEXT REFERENCES persons(id),  -- merge/unmerge: the person folded in
	residents TEXT NOT NULL,                -- JSON list of resident ids that moved
	reason    TEXT NOT NULL,                -- auto, review:ID, manual
	by        TEXT NOT NULL,
	at        TEXT NOT NULL,
	undone_by INTEGER REFERENCES person_links(id)
) STRICT;
CREATE INDEX person_links_merged ON person_links(merged);
CREATE INDEX person_links_survivor ON person_links(survivor);

-- Trained models; the newest is in use.
CREATE TABLE match_models (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	model      TEXT NOT NULL,
	report     TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

-- The terms each person holds, so a term is counted once per person
-- however many of its residents carry it. match_terms' row '#persons'
-- counts active persons, the registry size the prior needs.
CREATE TABLE person_terms (
	person_id TEXT NOT NULL,
	term      TEXT NOT NULL,
	PRIMARY KEY (person_id, term)
) STRICT, WITHOUT ROWID;
INSERT INTO match_terms (term, n) VALUES ('#persons', 0);
