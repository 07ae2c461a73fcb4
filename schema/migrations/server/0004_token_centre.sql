-- A printer token may be limited to one printing centre (DESIGN.md §9:
-- "print jobs of its centre"). Empty: not limited.
ALTER TABLE tokens ADD COLUMN centre TEXT NOT NULL DEFAULT '';
