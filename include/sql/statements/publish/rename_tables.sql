-- Several renames in one statement, which MySQL applies atomically: readers see every table of
-- the old generation or every table of the new one. The pairs (validated names) are filled in:
-- a TO b, c TO d, ...
RENAME TABLE {pairs}
