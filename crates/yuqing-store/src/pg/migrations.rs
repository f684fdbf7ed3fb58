//! The PostgreSQL schema, versioned like the SQLite one: each entry is applied once, in order,
//! and `yuqing_schema.version` records how many have been. Table and column names are the SQLite
//! store's, so a query reads the same on both; integers are BIGINT, flags BOOLEAN, reals DOUBLE
//! PRECISION, times Unix seconds, and the JSON columns stay TEXT (read by the same code).
//!
//! Posts are partitioned by month of publication (declarative range partitioning on
//! `published_at`): a month's partition is created when its first post is written, and
//! retention drops whole months. A partitioned table's unique keys must contain the partition
//! key, so the one identity that must hold across months — a dedup key is stored once — lives
//! in `post_keys`.
//!
//! Kept to SQL that PostgreSQL 12+ and KingbaseES accept; what openGauss needs differently is
//! listed in docs/OPERATIONS.md.

pub const PG_MIGRATIONS: &[&str] = &[
    // 1: what the pipeline writes and the story pages read: posts (by month), their dedup keys,
    // stories, alerts; and the tables a write batch or a story listing touches beside them
    // (themes, places, 误报 marks, hand edits of stories).
    r#"
    CREATE TABLE posts (
        id BIGINT NOT NULL,
        story_id BIGINT NOT NULL,
        dedup_key BIGINT NOT NULL,
        content_hash BIGINT NOT NULL,
        duplicate_of BIGINT,
        source TEXT NOT NULL,
        url TEXT,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        author TEXT,
        place TEXT,
        published_at BIGINT NOT NULL,
        published_offset BIGINT NOT NULL,
        time_estimated BOOLEAN NOT NULL,
        ingested_at BIGINT NOT NULL,
        tier BIGINT NOT NULL,
        reads BIGINT NOT NULL,
        comments BIGINT NOT NULL,
        reposts BIGINT NOT NULL,
        likes BIGINT NOT NULL,
        simhash BIGINT NOT NULL,
        sentiment BIGINT NOT NULL,
        sentiment_score DOUBLE PRECISION NOT NULL,
        topics TEXT NOT NULL,
        hits TEXT NOT NULL,
        severe_words TEXT NOT NULL,
        keywords TEXT NOT NULL,
        join_reason TEXT NOT NULL,
        PRIMARY KEY (id, published_at)
    ) PARTITION BY RANGE (published_at);
    CREATE INDEX posts_story ON posts (story_id, id);
    CREATE INDEX posts_content ON posts (content_hash);
    CREATE INDEX posts_published ON posts (published_at);

    CREATE TABLE post_keys (
        dedup_key BIGINT PRIMARY KEY,
        post_id BIGINT NOT NULL,
        published_at BIGINT NOT NULL
    );
    CREATE INDEX post_keys_published ON post_keys (published_at);

    CREATE TABLE stories (
        id BIGINT PRIMARY KEY,
        status TEXT NOT NULL,
        title TEXT NOT NULL,
        keywords TEXT NOT NULL,
        first_at BIGINT NOT NULL,
        last_at BIGINT NOT NULL,
        grade TEXT,
        grade_rank BIGINT NOT NULL,
        reasons TEXT NOT NULL,
        manual_grade TEXT,
        manual_reason TEXT,
        posts BIGINT NOT NULL,
        sites BIGINT NOT NULL,
        max_tier BIGINT NOT NULL,
        interactions BIGINT NOT NULL,
        negative_share DOUBLE PRECISION NOT NULL,
        rule_hits TEXT NOT NULL,
        topics TEXT NOT NULL,
        severe_words TEXT NOT NULL,
        centroid TEXT NOT NULL,
        index_terms TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE INDEX stories_rank ON stories (grade_rank DESC, posts DESC);
    CREATE INDEX stories_recent ON stories (last_at DESC);
    CREATE INDEX stories_status ON stories (status);

    CREATE TABLE alerts (
        id BIGSERIAL PRIMARY KEY,
        story_id BIGINT NOT NULL,
        from_grade TEXT,
        to_grade TEXT NOT NULL,
        reasons TEXT NOT NULL,
        at BIGINT NOT NULL
    );
    CREATE INDEX alerts_story ON alerts (story_id);
    CREATE INDEX alerts_at ON alerts (at DESC, id DESC);

    CREATE TABLE story_edits (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        story_id BIGINT NOT NULL,
        other_id BIGINT NOT NULL,
        posts TEXT NOT NULL,
        moved BIGINT NOT NULL,
        other_title TEXT NOT NULL,
        other_keywords TEXT NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL
    );
    CREATE INDEX story_edits_story ON story_edits (story_id);
    CREATE INDEX story_edits_other ON story_edits (other_id);

    CREATE TABLE theme_posts (
        theme TEXT NOT NULL,
        post_id BIGINT NOT NULL,
        PRIMARY KEY (theme, post_id)
    );
    CREATE INDEX theme_posts_post ON theme_posts (post_id);
    CREATE TABLE theme_stories (
        theme TEXT NOT NULL,
        story_id BIGINT NOT NULL,
        matched BIGINT NOT NULL,
        PRIMARY KEY (theme, story_id)
    );
    CREATE INDEX theme_stories_story ON theme_stories (story_id);
    CREATE TABLE theme_state (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL,
        built_at BIGINT NOT NULL,
        posts BIGINT NOT NULL
    );

    CREATE TABLE post_places (
        post_id BIGINT NOT NULL,
        code BIGINT NOT NULL,
        PRIMARY KEY (post_id, code)
    );
    CREATE INDEX post_places_code ON post_places (code, post_id);
    CREATE TABLE place_state (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        version TEXT NOT NULL,
        built_at BIGINT NOT NULL,
        posts BIGINT NOT NULL
    );

    CREATE TABLE false_alarms (
        story_id BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        title TEXT NOT NULL,
        rules TEXT NOT NULL,
        core TEXT NOT NULL,
        learn BOOLEAN NOT NULL
    );
    CREATE INDEX false_alarms_at ON false_alarms (at);
    "#,
    // 2: full-text search: each post's words as exact lexemes (cut by yuqing's segmenter, so the
    // server needs no Chinese extension), GIN-indexed; dropped with the post's month.
    r#"
    CREATE TABLE post_words (
        post_id BIGINT PRIMARY KEY,
        published_at BIGINT NOT NULL,
        words TSVECTOR NOT NULL
    );
    CREATE INDEX post_words_words ON post_words USING GIN (words);
    CREATE INDEX post_words_published ON post_words (published_at DESC, post_id DESC);
    "#,
    // 3: the desk state several nodes share: the notification outbox with its attempts, the
    // hash-chained audit log (append-only: updates, deletes and TRUNCATE are refused) and the
    // report serial counters and schedule. Columns as in the SQLite schema (migrations 2 and 5).
    r#"
    CREATE TABLE outbox (
        id BIGSERIAL PRIMARY KEY,
        channel TEXT NOT NULL,
        recipient TEXT,
        mention TEXT,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        link TEXT,
        dedup_key TEXT UNIQUE,
        created_at BIGINT NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        delivered_at BIGINT,
        last_error TEXT
    );
    CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
    CREATE TABLE outbox_attempts (
        id BIGSERIAL PRIMARY KEY,
        outbox_id BIGINT NOT NULL REFERENCES outbox (id),
        at BIGINT NOT NULL,
        ok BOOLEAN NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX outbox_attempts_message ON outbox_attempts (outbox_id, id);

    CREATE TABLE audit_log (
        id BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END
    $$;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE PROCEDURE audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE PROCEDURE audit_log_append_only();

    CREATE TABLE report_serials (
        scope TEXT NOT NULL,
        year BIGINT NOT NULL,
        last BIGINT NOT NULL,
        PRIMARY KEY (scope, year)
    );
    CREATE TABLE report_schedule (
        name TEXT PRIMARY KEY,
        last_period TEXT NOT NULL,
        at BIGINT NOT NULL
    );
    "#,
    // 4: the rest of the incident desk (users came later, in 5): incidents with their stories
    // and timeline, overdue records, the desk's cursors, alert acknowledgements and escalation
    // steps, the duty roster, handover notes and attachments. Columns as in the SQLite schema
    // (migration 2); an incident's id comes from its column's sequence (see `pg::desk_tables`).
    r#"
    CREATE TABLE incidents (
        id BIGSERIAL PRIMARY KEY,
        title TEXT NOT NULL,
        state TEXT NOT NULL,
        grade TEXT NOT NULL,
        lead_department TEXT,
        opened_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        closed_at BIGINT,
        data TEXT NOT NULL
    );
    CREATE INDEX incidents_state ON incidents (state, id);
    CREATE INDEX incidents_department ON incidents (lead_department, id);

    CREATE TABLE incident_stories (
        incident_id BIGINT NOT NULL REFERENCES incidents (id),
        story_id BIGINT NOT NULL,
        PRIMARY KEY (incident_id, story_id)
    );
    CREATE INDEX incident_stories_story ON incident_stories (story_id);

    CREATE TABLE incident_events (
        incident_id BIGINT NOT NULL REFERENCES incidents (id),
        seq BIGINT NOT NULL,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (incident_id, seq)
    );

    CREATE TABLE overdue (
        id BIGSERIAL PRIMARY KEY,
        incident_id BIGINT NOT NULL REFERENCES incidents (id),
        deadline TEXT NOT NULL,
        department TEXT,
        assignee TEXT,
        due_at BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL,
        UNIQUE (incident_id, deadline, due_at)
    );

    CREATE TABLE alert_acks (
        alert_id BIGINT PRIMARY KEY,
        by_user TEXT NOT NULL,
        at BIGINT NOT NULL
    );
    CREATE TABLE alert_escalations (
        alert_id BIGINT NOT NULL,
        step BIGINT NOT NULL,
        target TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (alert_id, step)
    );

    CREATE TABLE attachments (
        sha256 TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        bytes BYTEA NOT NULL
    );

    CREATE TABLE duty_shifts (
        id BIGSERIAL PRIMARY KEY,
        person TEXT NOT NULL,
        role TEXT NOT NULL,
        starts_at BIGINT NOT NULL,
        ends_at BIGINT NOT NULL,
        UNIQUE (person, starts_at)
    );
    CREATE INDEX duty_shifts_time ON duty_shifts (starts_at, ends_at);
    CREATE TABLE handover_notes (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        author TEXT NOT NULL,
        text TEXT NOT NULL
    );

    CREATE TABLE desk_cursor (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );
    "#,
    // 5: people and sign-in: users (a name is taken once; ids from the column's sequence), their
    // sessions (only the sha256 of a session id) and the lock-out counters per (name, client
    // address). Columns as in the SQLite schema (migrations 2, 3 and 9).
    r#"
    CREATE TABLE users (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        department TEXT,
        titles TEXT NOT NULL,
        phone TEXT,
        email TEXT,
        channels TEXT NOT NULL,
        token_hash TEXT UNIQUE,
        password_hash TEXT,
        active BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL
    );

    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users (id),
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        csrf TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user_id);
    CREATE INDEX sessions_expires ON sessions (expires_at);

    CREATE TABLE login_throttle (
        name TEXT NOT NULL,
        addr TEXT NOT NULL,
        failures BIGINT NOT NULL,
        window_start BIGINT NOT NULL,
        locked_until BIGINT,
        lockouts BIGINT NOT NULL DEFAULT 0,
        last_at BIGINT NOT NULL,
        PRIMARY KEY (name, addr)
    );
    CREATE INDEX login_throttle_last ON login_throttle (last_at);
    "#,
    // 6: watch rules (监测规则) edited on the page, with every saved version; a history id comes
    // from the column's sequence, taken under the save's lock (see `pg::rules`). Columns as in the
    // SQLite schema (migration 6).
    r#"
    CREATE TABLE watch_rules (
        name TEXT PRIMARY KEY,
        expr TEXT NOT NULL,
        topic TEXT,
        department TEXT,
        enabled BOOLEAN NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE watch_rule_history (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        expr TEXT NOT NULL,
        topic TEXT,
        department TEXT,
        enabled BOOLEAN NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE INDEX watch_rule_history_name ON watch_rule_history (name, id);
    "#,
    // 7: live collection: sources added at run time, per-source fetch state and health, the fetch
    // log, snapshot metadata (the bytes are files named by their sha256) and links to posts, notes
    // of links still to settle, drop-folder files read; and posts by URL, for exactly-once across
    // sources. Columns as in the SQLite schema (migration 7).
    r#"
    CREATE TABLE collect_sources (
        id TEXT PRIMARY KEY,
        enabled BOOLEAN NOT NULL,
        config TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at BIGINT NOT NULL
    );
    CREATE TABLE collect_state (
        source_id TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        last_attempt_at BIGINT,
        last_success_at BIGINT,
        consecutive_failures BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        alerted_at BIGINT
    );
    CREATE TABLE collect_fetches (
        id BIGSERIAL PRIMARY KEY,
        source_id TEXT NOT NULL,
        at BIGINT NOT NULL,
        ok BOOLEAN NOT NULL,
        status BIGINT,
        millis BIGINT NOT NULL,
        items BIGINT NOT NULL,
        stored BIGINT NOT NULL,
        error TEXT
    );
    CREATE INDEX collect_fetches_source ON collect_fetches (source_id, at);
    CREATE TABLE snapshots (
        sha256 TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        final_url TEXT NOT NULL,
        status BIGINT NOT NULL,
        content_type TEXT,
        fetched_at BIGINT NOT NULL,
        size BIGINT NOT NULL,
        source_id TEXT
    );
    CREATE INDEX snapshots_fetched ON snapshots (fetched_at);
    CREATE TABLE post_snapshots (
        post_id BIGINT PRIMARY KEY,
        sha256 TEXT NOT NULL
    );
    CREATE INDEX post_snapshots_sha ON post_snapshots (sha256);
    CREATE TABLE snapshot_pending (
        url TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        noted_at BIGINT NOT NULL,
        PRIMARY KEY (url, sha256)
    );
    CREATE TABLE collect_files (
        path TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        done_at BIGINT NOT NULL
    );
    CREATE INDEX posts_url ON posts (url);
    "#,
];
