//! Versioned schema migrations, applied in order inside one transaction each;
//! `PRAGMA user_version` records the version reached.

pub const MIGRATIONS: &[&str] = &[
    // 1: posts, stories, alerts.
    r#"
    CREATE TABLE posts (
        id INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL,
        dedup_key INTEGER NOT NULL UNIQUE,
        content_hash INTEGER NOT NULL,
        duplicate_of INTEGER,
        source TEXT NOT NULL,
        url TEXT,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        author TEXT,
        place TEXT,
        published_at INTEGER NOT NULL,
        published_offset INTEGER NOT NULL,
        time_estimated INTEGER NOT NULL,
        ingested_at INTEGER NOT NULL,
        tier INTEGER NOT NULL,
        reads INTEGER NOT NULL,
        comments INTEGER NOT NULL,
        reposts INTEGER NOT NULL,
        likes INTEGER NOT NULL,
        simhash INTEGER NOT NULL,
        sentiment INTEGER NOT NULL,
        sentiment_score REAL NOT NULL,
        topics TEXT NOT NULL,
        hits TEXT NOT NULL,
        severe_words TEXT NOT NULL,
        keywords TEXT NOT NULL,
        join_reason TEXT NOT NULL
    );
    CREATE INDEX posts_story ON posts(story_id, id);
    CREATE INDEX posts_content ON posts(content_hash);
    CREATE INDEX posts_published ON posts(published_at);

    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL,
        title TEXT NOT NULL,
        keywords TEXT NOT NULL,
        first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        grade TEXT,
        grade_rank INTEGER NOT NULL,
        reasons TEXT NOT NULL,
        manual_grade TEXT,
        manual_reason TEXT,
        posts INTEGER NOT NULL,
        sites INTEGER NOT NULL,
        max_tier INTEGER NOT NULL,
        interactions INTEGER NOT NULL,
        negative_share REAL NOT NULL,
        rule_hits TEXT NOT NULL,
        topics TEXT NOT NULL,
        severe_words TEXT NOT NULL,
        centroid TEXT NOT NULL,
        index_terms TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX stories_rank ON stories(grade_rank DESC, posts DESC);
    CREATE INDEX stories_recent ON stories(last_at DESC);
    CREATE INDEX stories_status ON stories(status);

    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL,
        from_grade TEXT,
        to_grade TEXT NOT NULL,
        reasons TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX alerts_story ON alerts(story_id);
    "#,
    // 2: the incident desk: users, incidents with their timeline, alert acknowledgements, duty roster,
    // attachments, the notification outbox and the hash-chained audit log.
    r#"
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
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
        active INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    );

    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        state TEXT NOT NULL,
        grade TEXT NOT NULL,
        lead_department TEXT,
        opened_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        closed_at INTEGER,
        data TEXT NOT NULL
    );
    CREATE INDEX incidents_state ON incidents(state, id);
    CREATE INDEX incidents_department ON incidents(lead_department, id);

    CREATE TABLE incident_stories (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        story_id INTEGER NOT NULL,
        PRIMARY KEY (incident_id, story_id)
    );
    CREATE INDEX incident_stories_story ON incident_stories(story_id);

    CREATE TABLE incident_events (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (incident_id, seq)
    );

    CREATE TABLE overdue (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        deadline TEXT NOT NULL,
        department TEXT,
        assignee TEXT,
        due_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        UNIQUE (incident_id, deadline, due_at)
    );

    CREATE TABLE alert_acks (
        alert_id INTEGER PRIMARY KEY,
        by_user TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE TABLE alert_escalations (
        alert_id INTEGER NOT NULL,
        step INTEGER NOT NULL,
        target TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (alert_id, step)
    );

    CREATE TABLE attachments (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        bytes BLOB NOT NULL
    );

    CREATE TABLE duty_shifts (
        id INTEGER PRIMARY KEY,
        person TEXT NOT NULL,
        role TEXT NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        UNIQUE (person, starts_at)
    );
    CREATE INDEX duty_shifts_time ON duty_shifts(starts_at, ends_at);
    CREATE TABLE handover_notes (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        author TEXT NOT NULL,
        text TEXT NOT NULL
    );

    CREATE TABLE desk_cursor (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        recipient TEXT,
        mention TEXT,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        link TEXT,
        dedup_key TEXT UNIQUE,
        created_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        delivered_at INTEGER,
        last_error TEXT
    );
    CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
    CREATE TABLE outbox_attempts (
        id INTEGER PRIMARY KEY,
        outbox_id INTEGER NOT NULL REFERENCES outbox(id),
        at INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX outbox_attempts_message ON outbox_attempts(outbox_id, id);

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    "#,
    // 3: sign-in: sessions (only the sha256 of the session id is stored) and failed sign-ins by
    // name, for lock-out.
    r#"
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        csrf TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE INDEX sessions_expires ON sessions(expires_at);
    CREATE TABLE login_failures (
        name TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        first_failure_at INTEGER NOT NULL,
        locked_until INTEGER
    );
    "#,
    // 4: the dashboard reads volume by time and sentiment, and sources by time, from the index alone.
    r#"
    CREATE INDEX posts_time_sentiment_source ON posts(published_at, sentiment, source);
    "#,
    // 5: reports and forms: the archive of produced reports (the report as JSON, rendered on
    // download), serial counters per scope and year, disposal reports (处置情况报告单), the risk
    // register (隐患排查表) with its history, and the scheduler's last produced periods.
    r#"
    CREATE TABLE report_archive (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        period TEXT NOT NULL,
        title TEXT NOT NULL,
        data TEXT NOT NULL,
        trigger TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX report_archive_kind ON report_archive(kind, period);
    CREATE TABLE report_serials (
        scope TEXT NOT NULL,
        year INTEGER NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (scope, year)
    );
    CREATE TABLE disposal_reports (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        serial TEXT UNIQUE,
        status TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        issued_at INTEGER
    );
    CREATE INDEX disposal_reports_incident ON disposal_reports(incident_id, id);
    CREATE TRIGGER disposal_reports_frozen BEFORE UPDATE ON disposal_reports WHEN OLD.status = 'issued'
        BEGIN SELECT RAISE(ABORT, 'an issued disposal report is frozen'); END;
    CREATE TABLE risk_items (
        id INTEGER PRIMARY KEY,
        department TEXT NOT NULL,
        status TEXT NOT NULL,
        due_date TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX risk_items_department ON risk_items(department, id);
    CREATE TABLE risk_item_history (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES risk_items(id),
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        change TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX risk_item_history_item ON risk_item_history(item_id, id);
    CREATE TRIGGER risk_item_history_no_update BEFORE UPDATE ON risk_item_history
        BEGIN SELECT RAISE(ABORT, 'risk_item_history is append-only'); END;
    CREATE TRIGGER risk_item_history_no_delete BEFORE DELETE ON risk_item_history
        BEGIN SELECT RAISE(ABORT, 'risk_item_history is append-only'); END;
    CREATE TABLE report_schedule (
        name TEXT PRIMARY KEY,
        last_period TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    "#,
    // 6: watch rules edited on the 监测规则 page (over the configuration's), with every saved version.
    r#"
    CREATE TABLE watch_rules (
        name TEXT PRIMARY KEY,
        expr TEXT NOT NULL,
        topic TEXT,
        department TEXT,
        enabled INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE watch_rule_history (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        expr TEXT NOT NULL,
        topic TEXT,
        department TEXT,
        enabled INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX watch_rule_history_name ON watch_rule_history(name, id);
    "#,
    // 7: live collection (yuqing-collect): per-source state, health and fetch cursors; snapshots
    // (evidence, content-addressed: the bytes live under `snapshots/` in the data directory) and
    // which snapshot each collected post came from; the drop-folder files already read. Collected
    // posts carry their canonical URL in `posts.url`, indexed here for exactly-once across sources.
    r#"
    CREATE TABLE collect_sources (
        id TEXT PRIMARY KEY,
        enabled INTEGER NOT NULL,
        config TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at INTEGER NOT NULL
    );
    CREATE TABLE collect_state (
        source_id TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        last_attempt_at INTEGER,
        last_success_at INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        alerted_at INTEGER
    );
    CREATE TABLE collect_fetches (
        id INTEGER PRIMARY KEY,
        source_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        status INTEGER,
        millis INTEGER NOT NULL,
        items INTEGER NOT NULL,
        stored INTEGER NOT NULL,
        error TEXT
    );
    CREATE INDEX collect_fetches_source ON collect_fetches(source_id, at);
    CREATE TABLE snapshots (
        sha256 TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        final_url TEXT NOT NULL,
        status INTEGER NOT NULL,
        content_type TEXT,
        fetched_at INTEGER NOT NULL,
        size INTEGER NOT NULL,
        source_id TEXT
    );
    CREATE INDEX snapshots_fetched ON snapshots(fetched_at);
    CREATE TABLE post_snapshots (
        post_id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL
    );
    CREATE INDEX post_snapshots_sha ON post_snapshots(sha256);
    -- Links noted (by canonical URL) before the posts are handed to the pipeline, so a crash
    -- between the pipeline's commit and the link leaves a note to settle, not a post without
    -- its evidence.
    CREATE TABLE snapshot_pending (
        url TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        noted_at INTEGER NOT NULL,
        PRIMARY KEY (url, sha256)
    );
    CREATE TABLE collect_files (
        path TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        done_at INTEGER NOT NULL
    );
    CREATE INDEX posts_url ON posts(url);
    "#,
    // 8: `posts_published` is a prefix of `posts_time_sentiment_source` (4), which serves every
    // query by time; the duplicate cost a B-tree update on every stored post.
    r#"
    DROP INDEX IF EXISTS posts_published;
    "#,
    // 9: sign-in lock-out per (name, client address) with back-off, replacing the lock by name
    // alone (which let anyone lock any account out). `failures` counts attempts of the current
    // window, each counted before its password is checked; `lockouts` how many times this pair
    // was locked, for the back-off.
    r#"
    DROP TABLE IF EXISTS login_failures;
    CREATE TABLE login_throttle (
        name TEXT NOT NULL,
        addr TEXT NOT NULL,
        failures INTEGER NOT NULL,
        window_start INTEGER NOT NULL,
        locked_until INTEGER,
        lockouts INTEGER NOT NULL DEFAULT 0,
        last_at INTEGER NOT NULL,
        PRIMARY KEY (name, addr)
    );
    CREATE INDEX login_throttle_last ON login_throttle(last_at);
    "#,
    // 10: stories merged or split by hand (合并/拆分), with the reason and who did it. A merged
    // story's row is gone (its posts, alerts and incidents belong to the story it joined); its
    // id, title and keywords stay here, so links to it lead to that story.
    r#"
    CREATE TABLE story_edits (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        other_id INTEGER NOT NULL,
        posts TEXT NOT NULL,
        moved INTEGER NOT NULL,
        other_title TEXT NOT NULL,
        other_keywords TEXT NOT NULL,
        reason TEXT NOT NULL,
        actor TEXT NOT NULL
    );
    CREATE INDEX story_edits_story ON story_edits(story_id);
    CREATE INDEX story_edits_other ON story_edits(other_id);
    "#,
    // 11: themes (专题) above stories: which posts match which configured theme, and per theme and
    // story how many of the story's posts match; derived from the posts and the configured
    // expressions, rebuilt when `theme_state.fingerprint` no longer matches the configuration.
    r#"
    CREATE TABLE theme_posts (
        theme TEXT NOT NULL,
        post_id INTEGER NOT NULL,
        PRIMARY KEY (theme, post_id)
    ) WITHOUT ROWID;
    CREATE TABLE theme_stories (
        theme TEXT NOT NULL,
        story_id INTEGER NOT NULL,
        matched INTEGER NOT NULL,
        PRIMARY KEY (theme, story_id)
    ) WITHOUT ROWID;
    CREATE INDEX theme_stories_story ON theme_stories(story_id);
    CREATE TABLE theme_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fingerprint TEXT NOT NULL,
        built_at INTEGER NOT NULL,
        posts INTEGER NOT NULL
    );
    "#,
    // 12: places (属地): the most specific places each post names (GB/T 2260 codes; countries above
    // 1,000,000), derived from the posts with the gazetteer, rebuilt when `place_state.version`
    // is not the gazetteer's.
    r#"
    CREATE TABLE post_places (
        post_id INTEGER NOT NULL,
        code INTEGER NOT NULL,
        PRIMARY KEY (post_id, code)
    ) WITHOUT ROWID;
    CREATE INDEX post_places_code ON post_places(code, post_id);
    CREATE TABLE place_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version TEXT NOT NULL,
        built_at INTEGER NOT NULL,
        posts INTEGER NOT NULL
    );
    "#,
    // 13: 误报 (false alarms): stories the office marked as not relevant or not a matter, with who,
    // when and why; the rules the story hit and its core when marked (the per-rule counts of the
    // 监测规则 page, and the relevance model's examples while `learn` is 1 — a reset sets it to 0
    // and keeps the marks).
    r#"
    CREATE TABLE false_alarms (
        story_id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        title TEXT NOT NULL,
        rules TEXT NOT NULL,
        core TEXT NOT NULL,
        learn INTEGER NOT NULL
    );
    CREATE INDEX false_alarms_at ON false_alarms(at);
    "#,
];
