-- Which server wrote last (issue 7 review): a server tells that another
-- wrote since its own last transaction by the writer, not by the count,
-- which a rolled-back transaction leaves as it was for the next to reuse.
ALTER TABLE store_generation ADD COLUMN writer TEXT NOT NULL DEFAULT '';
