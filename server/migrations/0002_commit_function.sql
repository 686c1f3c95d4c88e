-- A batch commit in one statement, so one round trip (`PostgresStore::commit_guarded`):
-- the guards' transaction-scoped advisory locks, taken in the order given (the caller sorts
-- them by tree and key, so two commits never wait on each other in a circle); then the
-- guards read, in a statement of their own (a VOLATILE function takes a fresh snapshot for
-- each statement, so in READ COMMITTED they see every commit made before the locks were
-- held); then, only if every guard holds, the deletes and the puts (no key in both). A guard
-- value NULL means the key must be absent. Called alone, the function's statement is its own
-- transaction: all or nothing, durable when it returns, the locks released with it.
CREATE FUNCTION gridcase_commit(
    guard_trees text[],
    guard_keys bytea[],
    guard_values bytea[],
    del_trees text[],
    del_keys bytea[],
    put_trees text[],
    put_keys bytea[],
    put_values bytea[]
) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(guard_trees, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(
            hashtextextended(guard_trees[i] || ':' || encode(guard_keys[i], 'hex'), 0));
    END LOOP;
    IF EXISTS (
        SELECT 1
        FROM unnest(guard_trees, guard_keys, guard_values) AS g(tree, key, value)
        LEFT JOIN gridcase_trees t ON t.tree = g.tree AND t.key = g.key
        WHERE t.value IS DISTINCT FROM g.value
    ) THEN
        RETURN false;
    END IF;
    DELETE FROM gridcase_trees t
    USING unnest(del_trees, del_keys) AS d(tree, key)
    WHERE t.tree = d.tree AND t.key = d.key;
    INSERT INTO gridcase_trees (tree, key, value)
    SELECT * FROM unnest(put_trees, put_keys, put_values)
    ON CONFLICT (tree, key) DO UPDATE SET value = excluded.value;
    RETURN true;
END
$$;
