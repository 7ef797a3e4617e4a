// The event store's tables and its append function, shared by PostgreSQL and PGlite.
//
// Global order: a sequence alone is not enough, because transactions commit out of sequence order and a
// reader that tails by sequence skips an event whose transaction commits after a later one. Each event
// records the id of the transaction that wrote it; readers order by (transaction_id, global_position)
// and only read events whose transaction id is below the horizon (es_horizon): the oldest transaction of
// this database still in flight when the reader's snapshot was taken. Every transaction below it has
// finished, so nothing can appear later before a position that a reader has already passed.
//
// The store's positions, not the cluster's: `transaction_id` is the cluster's transaction id plus the
// store's commit offset (es_position_offset, 0 until a restore into another cluster). A logical restore
// (pg_dump) carries the events' positions but not the cluster's transaction counter: in a fresh cluster
// the counter is far below them, and new appends would sort before the restored events. Migration then
// raises the offset (es_realign_positions), so the restored positions stay as they were and every new
// one sorts after them. See README, "Backup and restore".
//
// Append is one function call, so a single-event append is one round trip and one commit.

export const EVENT_STORE_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS es_streams (
  stream_id       text PRIMARY KEY,
  last_revision   bigint  NOT NULL,           -- -1 before the first event
  truncate_before bigint  NOT NULL DEFAULT 0, -- events below this revision are hidden (soft delete)
  deleted         boolean NOT NULL DEFAULT false
);

-- One row: what this store adds to the cluster's transaction ids to make its commit positions.
CREATE TABLE IF NOT EXISTS es_position_offset (
  singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  commit_offset bigint  NOT NULL CHECK (commit_offset >= 0)
);
INSERT INTO es_position_offset (commit_offset) VALUES (0) ON CONFLICT (singleton) DO NOTHING;

-- The commit position of the calling transaction. Read by es_append only after it has locked its stream
-- row, so that es_realign_positions (which locks es_streams) never changes the offset under an append.
CREATE OR REPLACE FUNCTION es_current_commit() RETURNS xid8 LANGUAGE sql VOLATILE AS $fn$
  SELECT (pg_current_xact_id()::text::bigint + o.commit_offset)::text::xid8 FROM es_position_offset o
$fn$;

-- The horizon of a reader's snapshot, as a commit position: readers take events strictly below it. It is
-- the oldest transaction in the snapshot that may have written this log, else the snapshot's xmax
-- (nothing was in flight). Transactions of other databases cannot write this log and are passed over (a
-- held one elsewhere on the server stalled every reader here), but only on proof: the server shows the
-- transaction running in another database, or it has ended and left no event here. A transaction still
-- running that the server does not place elsewhere (this database, a prepared transaction, a backend this
-- role cannot see) holds the horizon. VOLATILE: each check after the first takes a fresh snapshot, which
-- is what lets it see the events of a transaction that committed after the reader's snapshot.
-- The proof that a transaction ended without an event here is one statement asking its own snapshot both
-- questions: has the transaction ended in this snapshot, and does this snapshot see an event of it. Asking
-- pg_xact_status instead (an earlier version) raced: a transaction that left the process array between the
-- check's snapshot and the status call read as "committed" while its events were still invisible to that
-- snapshot, so the horizon passed over them and readers skipped them for good (#15.26).
CREATE OR REPLACE FUNCTION es_horizon_of(p_snapshot pg_snapshot, p_offset bigint) RETURNS xid8 LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  v_xid     xid8;
  v_foreign bigint[];
  v_holds   boolean;
BEGIN
  IF pg_snapshot_xmin(p_snapshot) <> pg_snapshot_xmax(p_snapshot) THEN
    v_foreign := ARRAY(SELECT a.backend_xid::text::bigint FROM pg_stat_get_activity(NULL) a
                        WHERE a.backend_xid IS NOT NULL AND a.datid <> (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()));
    FOR v_xid IN SELECT x FROM pg_snapshot_xip(p_snapshot) x ORDER BY x LOOP
      CONTINUE WHEN (v_xid::text::bigint % 4294967296) = ANY(v_foreign);
      -- Still running in this statement's snapshot, or ended in it: then whatever it committed is visible to
      -- the same snapshot (an aborted one left nothing visible).
      SELECT NOT pg_visible_in_snapshot(v_xid, pg_current_snapshot()) OR EXISTS (
               SELECT 1 FROM es_events e WHERE e.transaction_id IN (
                 (v_xid::text::bigint + p_offset)::text::xid8,
                 (v_xid::text::bigint + (SELECT o.commit_offset FROM es_position_offset o))::text::xid8))
        INTO v_holds;
      IF v_holds THEN
        RETURN (v_xid::text::bigint + p_offset)::text::xid8;
      END IF;
    END LOOP;
  END IF;
  RETURN (pg_snapshot_xmax(p_snapshot)::text::bigint + p_offset)::text::xid8;
END
$fn$;

-- The horizon of the calling statement's snapshot (STABLE: it runs in that snapshot), with the offset
-- that snapshot sees.
CREATE OR REPLACE FUNCTION es_horizon() RETURNS xid8 LANGUAGE sql STABLE AS $fn$
  SELECT es_horizon_of(pg_current_snapshot(), o.commit_offset) FROM es_position_offset o
$fn$;

CREATE TABLE IF NOT EXISTS es_events (
  global_position bigserial NOT NULL,
  transaction_id  xid8      NOT NULL DEFAULT es_current_commit(), -- the commit position (see above)
  stream_id       text      NOT NULL,
  stream_revision bigint    NOT NULL,
  event_id        uuid      NOT NULL,
  event_type      text      NOT NULL,
  data            jsonb     NOT NULL,
  metadata        jsonb     NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (transaction_id, global_position)
);
CREATE UNIQUE INDEX IF NOT EXISTS es_events_stream_revision ON es_events (stream_id, stream_revision);
-- Event ids are unique per stream (as on EventStoreDB): it makes an append that repeats some ids fail
-- even on the fast path, and serves the idempotency lookup.
CREATE UNIQUE INDEX IF NOT EXISTS es_events_stream_event ON es_events (stream_id, event_id);
-- The stream's category (its id up to the first '-'), stored so that a projector reading one category
-- walks an index in global order instead of filtering the whole log.
ALTER TABLE es_events ADD COLUMN IF NOT EXISTS category text GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED;
CREATE INDEX IF NOT EXISTS es_events_category_position ON es_events (category, transaction_id, global_position);

-- Databases made before the commit offset default to the bare transaction id.
DO $default$ BEGIN
  IF (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
       WHERE d.adrelid = 'es_events'::regclass AND a.attname = 'transaction_id') NOT LIKE '%es_current_commit%' THEN
    ALTER TABLE es_events ALTER COLUMN transaction_id SET DEFAULT es_current_commit();
  END IF;
END $default$;

-- After a logical restore into a cluster whose transaction counter is behind the restored positions, raise
-- the commit offset so that the next commit sorts after every stored event; returns the offset. Cheap when
-- nothing is to do (one index probe). When it moves the offset it first locks es_streams, which waits for
-- appends in flight and holds new ones until it commits: none then mixes the old offset with the new.
CREATE OR REPLACE FUNCTION es_realign_positions() RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  v_offset bigint;
  v_needed bigint;
BEGIN
  FOR attempt IN 1..2 LOOP
    SELECT o.commit_offset INTO v_offset FROM es_position_offset o;
    SELECT e.transaction_id::text::bigint + 1 - pg_current_xact_id()::text::bigint INTO v_needed
      FROM es_events e ORDER BY e.transaction_id DESC LIMIT 1;
    IF v_needed IS NULL OR v_needed <= v_offset THEN
      RETURN v_offset;
    END IF;
    IF attempt = 1 THEN
      LOCK TABLE es_streams IN EXCLUSIVE MODE; -- then look again: appends in flight have committed
    ELSE
      UPDATE es_position_offset SET commit_offset = v_needed;
      RETURN v_needed;
    END IF;
  END LOOP;
END
$fn$;

-- es_append returned SETOF rows in an earlier version; a single row of OUT parameters is cheaper per call.
-- The return type cannot be replaced in place, so the old shape is dropped (in this same transaction).
DO $drop$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'es_append' AND proretset) THEN
    DROP FUNCTION es_append(text, text, bigint, jsonb);
  END IF;
END $drop$;

CREATE OR REPLACE FUNCTION es_append(p_stream text, p_mode text, p_expected bigint, p_events jsonb,
  OUT last_revision bigint, OUT commit_position text, OUT prepare_position bigint, OUT idempotent boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_count    int := jsonb_array_length(p_events);
  v_current  bigint;
  v_deleted  boolean;
  v_truncate bigint;
  v_exists   boolean;
  v_repeated int;
  v_hidden   int;
  v_ids      uuid[];
  v_commit   xid8;
BEGIN
  idempotent := false;
  -- Fast path for the common case, an exact expected revision that matches: one UPDATE takes the row
  -- lock, checks the revision and advances it. No idempotency check is needed here: a retry of an append
  -- that already committed carries a revision the stream has moved past, so it takes the slow path; an
  -- append repeating only some ids hits the unique (stream_id, event_id) index, and the caller retries
  -- with mode 'exact_checked', which takes the slow path and reports it properly.
  IF p_mode = 'exact' THEN
    UPDATE es_streams s SET last_revision = s.last_revision + v_count
     WHERE s.stream_id = p_stream AND s.last_revision = p_expected AND NOT s.deleted AND s.last_revision >= 0
    RETURNING s.last_revision - v_count INTO v_current;
    IF FOUND THEN
      -- The commit position is es_current_commit(), written out: one statement, a plan PL/pgSQL caches.
      WITH inserted AS (
        INSERT INTO es_events (transaction_id, stream_id, stream_revision, event_id, event_type, data, metadata)
        SELECT c.commit, p_stream, v_current + t.ord, (t.x->>'id')::uuid, t.x->>'type', t.x->'data', t.x->'metadata'
          FROM (SELECT (pg_current_xact_id()::text::bigint + o.commit_offset)::text::xid8 AS commit FROM es_position_offset o) c,
               jsonb_array_elements(p_events) WITH ORDINALITY AS t(x, ord)
        RETURNING transaction_id, global_position
      )
      SELECT max(global_position), max(transaction_id) INTO prepare_position, v_commit FROM inserted;
      last_revision := v_current + v_count;
      commit_position := v_commit::text;
      RETURN;
    END IF;
  END IF;

  -- Lock the stream row first: it serializes writers of one stream, and the checks below then see
  -- every append that committed before us.
  SELECT s.last_revision, s.deleted, s.truncate_before INTO v_current, v_deleted, v_truncate FROM es_streams s WHERE s.stream_id = p_stream FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO es_streams (stream_id, last_revision) VALUES (p_stream, -1) ON CONFLICT (stream_id) DO NOTHING;
    SELECT s.last_revision, s.deleted, s.truncate_before INTO v_current, v_deleted, v_truncate FROM es_streams s WHERE s.stream_id = p_stream FOR UPDATE;
  END IF;
  v_exists := v_current >= 0 AND NOT v_deleted;

  -- Idempotency: the same event ids already in this stream make this append a no-op. Looked up by
  -- event id (an index probe per id), never by scanning the stream, so long streams stay cheap.
  v_ids := ARRAY(SELECT (x->>'id')::uuid FROM jsonb_array_elements(p_events) x);
  -- Ids of events hidden by a soft delete are spent: the append they belong to can be neither answered as
  -- done (its events no longer read) nor written again (ids are unique per stream), so it is refused.
  SELECT count(*)::int, count(*) FILTER (WHERE e.stream_revision < v_truncate)::int INTO v_repeated, v_hidden
    FROM es_events e WHERE e.event_id = ANY(v_ids) AND e.stream_id = p_stream;
  IF v_hidden > 0 THEN
    RAISE EXCEPTION 'stream %: some event ids belong to deleted events', p_stream USING ERRCODE = 'KY002', DETAIL = 'deleted';
  ELSIF v_repeated = v_count THEN
    SELECT e.stream_revision, e.transaction_id::text, e.global_position, true
      INTO last_revision, commit_position, prepare_position, idempotent
      FROM es_events e WHERE e.event_id = ANY(v_ids) AND e.stream_id = p_stream
     ORDER BY e.stream_revision DESC LIMIT 1;
    RETURN;
  ELSIF v_repeated > 0 THEN
    RAISE EXCEPTION 'stream %: some event ids were already appended', p_stream USING ERRCODE = 'KY002';
  END IF;

  IF (p_mode = 'no_stream' AND v_exists)
     OR (p_mode = 'stream_exists' AND NOT v_exists)
     OR (p_mode IN ('exact', 'exact_checked') AND (NOT v_exists OR v_current <> p_expected)) THEN
    -- Raising rolls back the stream row inserted above: a rejected append leaves nothing behind.
    RAISE EXCEPTION 'stream %: wrong expected revision', p_stream
      USING ERRCODE = 'KY001', DETAIL = CASE WHEN v_exists THEN v_current::text ELSE 'no_stream' END;
  END IF;

  WITH inserted AS (
    INSERT INTO es_events (transaction_id, stream_id, stream_revision, event_id, event_type, data, metadata)
    SELECT c.commit, p_stream, v_current + t.ord, (t.x->>'id')::uuid, t.x->>'type', t.x->'data', t.x->'metadata'
      FROM (SELECT (pg_current_xact_id()::text::bigint + o.commit_offset)::text::xid8 AS commit FROM es_position_offset o) c,
           jsonb_array_elements(p_events) WITH ORDINALITY AS t(x, ord)
     ORDER BY t.ord
    RETURNING transaction_id, global_position
  )
  SELECT max(global_position), max(transaction_id) INTO prepare_position, v_commit FROM inserted;

  UPDATE es_streams s SET last_revision = v_current + v_count, deleted = false WHERE s.stream_id = p_stream;
  last_revision := v_current + v_count;
  commit_position := v_commit::text;
END
$fn$;

-- Group commit: several appends in one transaction, one round trip and one WAL flush. Each runs in its
-- own subtransaction, so one that breaks its rule (wrong revision, repeated ids) is rolled back alone and
-- reported by its SQLSTATE and detail; the others commit together. The caller orders the appends by
-- stream so that two groups lock their streams in the same order.
-- The group arrives as json (checked for syntax only) and each append's events are cast to jsonb inside
-- its own subtransaction: a value jsonb refuses (a NUL, a lone surrogate) then fails that append alone.
-- (Taking jsonb, an earlier version cast the whole group up front, so one such value failed them all.)
DROP FUNCTION IF EXISTS es_append_many(jsonb);
CREATE OR REPLACE FUNCTION es_append_many(p_appends json)
RETURNS TABLE (ord int, last_revision bigint, commit_position text, prepare_position bigint, idempotent boolean, error_code text, error_detail text)
LANGUAGE plpgsql AS $fn$
DECLARE
  a json;
  b jsonb;
  r record;
BEGIN
  ord := 0;
  FOR a IN SELECT value FROM json_array_elements(p_appends) LOOP
    BEGIN
      b := a::jsonb; -- once per append, inside its subtransaction
      SELECT * INTO r FROM es_append(b->>'s', b->>'m', (b->>'e')::bigint, b->'v');
      last_revision := r.last_revision;
      commit_position := r.commit_position;
      prepare_position := r.prepare_position;
      idempotent := r.idempotent;
      error_code := NULL;
      error_detail := NULL;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error_detail = PG_EXCEPTION_DETAIL;
      last_revision := NULL;
      commit_position := NULL;
      prepare_position := NULL;
      idempotent := NULL;
    END;
    RETURN NEXT;
    ord := ord + 1;
  END LOOP;
END
$fn$;
`;
