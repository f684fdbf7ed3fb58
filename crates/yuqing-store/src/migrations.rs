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
];
