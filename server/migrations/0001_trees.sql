-- The ledger's named byte-keyed trees (sync-core's `Store`): one row a key. bytea compares
-- byte by byte, so the primary key's order is the order sled keeps and the ledger's range
-- scans rely on. Tree names are short ASCII identifiers, compared in the C collation.
CREATE TABLE gridcase_trees (
    tree text COLLATE "C" NOT NULL,
    key bytea NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (tree, key)
);
-- Documents are stored zstd-compressed already: PostgreSQL's own compression of large values
-- would spend CPU for nothing.
ALTER TABLE gridcase_trees ALTER COLUMN value SET STORAGE EXTERNAL;
