-- The hospital-facing interface (issue 5): an ordered feed of what
-- happened to persons and cards, and an append-only log of every read of a
-- person's data.

-- One row per change a hospital's copy must follow, written in the same
-- transaction as the change, so a consumer following seq never misses an
-- event or sees one for a change that was rolled back. AUTOINCREMENT: a
-- sequence number is never reused, even after the newest rows are gone.
-- health_id is the subject's (digits); data holds what else the kind needs
-- (merged_into, card serial and version, revocation reason).
CREATE TABLE events (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	kind      TEXT NOT NULL CHECK (kind IN ('person.created', 'person.updated', 'person.merged',
		'person.unmerged', 'card.issued', 'card.revoked')),
	person_id TEXT NOT NULL REFERENCES persons(id),
	health_id TEXT NOT NULL,
	data      TEXT NOT NULL DEFAULT '{}',
	at        TEXT NOT NULL
) STRICT;

-- A registry that existed before the feed starts it with what it holds
-- now, in the order it happened, so a consumer from zero sees everyone.
INSERT INTO events (kind, person_id, health_id, data, at)
SELECT kind, person_id, health_id, data, at FROM (
	SELECT 0 AS o, p.created_at AS at, 'person.created' AS kind, p.id AS person_id, h.health_id, '{}' AS data
		FROM persons p JOIN health_ids h ON h.person_id = p.id
	UNION ALL
	SELECT 1, c.issued_at, 'card.issued', c.person_id, c.health_id,
		json_object('serial', c.serial, 'version', c.version)
		FROM cards c
	UNION ALL
	SELECT 2, c.updated_at, 'card.revoked', c.person_id, c.health_id,
		json_object('serial', c.serial, 'version', c.version, 'reason', c.revoked_reason)
		FROM cards c WHERE c.status = 'revoked'
	UNION ALL
	SELECT 3, p.updated_at, 'person.merged', p.id, h.health_id,
		json_object('merged_into', s.health_id)
		FROM persons p JOIN health_ids h ON h.person_id = p.id JOIN health_ids s ON s.person_id = p.merged_into
		WHERE p.status = 'merged'
) ORDER BY at, o;

-- Who read whose data, when, from where. Append-only: the triggers refuse
-- any change, so no code path (and no API) can edit or delete it.
CREATE TABLE audit_log (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	at         TEXT NOT NULL,
	token_id   TEXT NOT NULL,
	token_name TEXT NOT NULL,
	role       TEXT NOT NULL,
	action     TEXT NOT NULL,
	person_id  TEXT NOT NULL,
	health_id  TEXT NOT NULL,
	client     TEXT NOT NULL,
	detail     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_person ON audit_log(person_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
