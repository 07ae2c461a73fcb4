-- Drafts of the survey worker's form, kept as they type so that a reload,
-- a closed tab or a pulled plug loses nothing. A draft is the form as typed
-- (JSON), never validated and never sent. The form masks an Aadhaar number
-- before a draft is saved, and the store refuses a draft holding a full one:
-- Aadhaar numbers never rest on disk in the clear.
CREATE TABLE drafts (
	id           TEXT PRIMARY KEY,
	household_id TEXT, -- the saved household a draft edits; NULL for a new one
	form         TEXT NOT NULL,
	updated_at   TEXT NOT NULL -- UTC, fixed width, so text order is time order
);

CREATE INDEX drafts_updated ON drafts (updated_at);

-- Lookup keys of live residents, for warning at the door that a member
-- looks like someone already enrolled on this laptop: "n:" phonetic name key
-- and birth year, "p:" phone, "a:" Aadhaar hash. Written with the resident
-- in the same transaction; a removed member loses its keys. Name keys are
-- computed in Go (the server matcher's phonetic key), so rows stored before
-- this table existed are keyed by the store the first time it is asked
-- (settings key resident_keys records the keying version).
CREATE TABLE resident_keys (
	key         TEXT NOT NULL,
	resident_id TEXT NOT NULL,
	PRIMARY KEY (key, resident_id)
) WITHOUT ROWID;

CREATE INDEX resident_keys_resident ON resident_keys (resident_id);

-- A store with no residents yet has every key it needs: saves write them.
-- ('1' is residentKeysVersion in surveyor/draft.go.)
INSERT INTO settings (key, value) SELECT 'resident_keys', '1' WHERE NOT EXISTS (SELECT 1 FROM residents);

-- Places offered as the worker types an address: the distinct localities,
-- pincodes and cities of the households on this laptop, read from this
-- index instead of parsing every household's JSON at each keystroke.
CREATE INDEX households_place ON households (
	json_extract(data, '$.address.locality'),
	json_extract(data, '$.address.pincode'),
	json_extract(data, '$.address.city'));
