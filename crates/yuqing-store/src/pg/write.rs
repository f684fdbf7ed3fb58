//! A write batch in a handful of set-based statements instead of one statement per row: the
//! append-only rows (posts into their month partitions, dedup keys, alerts) go in by `COPY …
//! FROM STDIN` in the text format (the binary format is tied to the server: GaussDB, openGauss's
//! commercial sibling, documents its own as not portable), the upserts (stories, theme and place rows) as
//! one `INSERT … SELECT FROM UNNEST(arrays…)` each. All inside the caller's transaction, with the
//! row-by-row writer's meaning: a conflicting key fails the statement and so the batch; a story
//! given twice ends as its last version; a (theme, post) pair counts towards its story once, as
//! its first mention.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use postgres::types::ToSql;
use postgres::Transaction;

use crate::places::PostPlace;
use crate::records::{NewAlert, PostRecord, StoryRecord};
use crate::rows::{self, POST_COLUMNS, STORY_COLUMNS};
use crate::sql::ts;
use crate::themes::ThemePost;
use crate::{Result, StoreError};

/// The SQL types of [`STORY_COLUMNS`] and then `grade_rank`, for the arrays of the upsert.
const STORY_TYPES: [&str; 22] = [
    "bigint",           // id
    "text",             // status
    "text",             // title
    "text",             // keywords
    "bigint",           // first_at
    "bigint",           // last_at
    "text",             // grade
    "text",             // reasons
    "text",             // manual_grade
    "text",             // manual_reason
    "bigint",           // posts
    "bigint",           // sites
    "bigint",           // max_tier
    "bigint",           // interactions
    "double precision", // negative_share
    "text",             // rule_hits
    "text",             // topics
    "text",             // severe_words
    "text",             // centroid
    "bigint",           // updated_at
    "text",             // index_terms
    "bigint",           // grade_rank
];

/// Rows in `COPY`'s text format: fields separated by tabs, rows ended by newlines, `\N` for
/// NULL, and in text a backslash, tab, newline or carriage return written as a backslash escape
/// (every other character as itself; a NUL, which no PostgreSQL text holds, makes the server
/// refuse the copy).
#[derive(Default)]
struct CopyRows {
    buf: Vec<u8>,
    /// Whether the row being written has a field already.
    open: bool,
}

impl CopyRows {
    fn field(&mut self) {
        if self.open {
            self.buf.push(b'\t');
        }
        self.open = true;
    }

    fn int(&mut self, v: i64) -> &mut Self {
        self.field();
        self.buf.extend_from_slice(v.to_string().as_bytes());
        self
    }

    fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    fn null(&mut self) -> &mut Self {
        self.field();
        self.buf.extend_from_slice(b"\\N");
        self
    }

    fn flag(&mut self, v: bool) -> &mut Self {
        self.field();
        self.buf.push(if v { b't' } else { b'f' });
        self
    }

    /// A double, exactly (Rust prints the shortest decimal that reads back as the same value).
    fn real(&mut self, v: f64) -> &mut Self {
        self.field();
        let s = if v.is_nan() {
            "NaN".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
        } else {
            v.to_string()
        };
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.field();
        let bytes = s.as_bytes();
        let mut from = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escaped: &[u8] = match b {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                _ => continue,
            };
            self.buf.extend_from_slice(&bytes[from..i]);
            self.buf.extend_from_slice(escaped);
            from = i + 1;
        }
        self.buf.extend_from_slice(&bytes[from..]);
        self
    }

    fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.open = false;
    }

    /// Sends the rows by `copy` (a `COPY … FROM STDIN` statement).
    fn send(self, tx: &mut Transaction<'_>, copy: &str) -> Result<()> {
        let mut w = tx.copy_in(copy)?;
        w.write_all(&self.buf).map_err(copy_error)?;
        w.finish()?;
        Ok(())
    }
}

/// A failed write of copy data: the server's or the connection's error inside, as such.
fn copy_error(e: std::io::Error) -> StoreError {
    let kind = e.kind();
    let io = |source| StoreError::Io { path: "PostgreSQL COPY".into(), source };
    match e.into_inner() {
        Some(inner) => match inner.downcast::<postgres::Error>() {
            Ok(pg) => StoreError::Postgres(*pg),
            Err(other) => io(std::io::Error::new(kind, other)),
        },
        None => io(std::io::Error::from(kind)),
    }
}

/// Posts (routed by the server into their month's partition, which must exist) and their dedup
/// keys. A key or id stored already, or twice in `posts`, fails the copy.
pub(super) fn copy_posts(tx: &mut Transaction<'_>, posts: &[PostRecord]) -> Result<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let mut out = CopyRows::default();
    for p in posts {
        let v = rows::PostValues::of(p);
        out.int(p.id)
            .int(p.story_id)
            .int(p.dedup_key as i64)
            .int(p.content_hash as i64)
            .opt_int(p.duplicate_of)
            .text(&p.source)
            .opt_text(p.url.as_deref())
            .text(&p.title)
            .text(&p.text)
            .opt_text(p.author.as_deref())
            .opt_text(p.place.as_deref())
            .int(v.published_at)
            .int(v.published_offset)
            .flag(p.time_estimated)
            .int(v.ingested_at)
            .int(v.tier)
            .int(v.reads)
            .int(v.comments)
            .int(v.reposts)
            .int(v.likes)
            .int(p.simhash as i64)
            .int(v.sentiment)
            .real(f64::from(p.sentiment_score))
            .text(&v.topics)
            .text(&v.hits)
            .text(&v.severe_words)
            .text(&v.keywords)
            .text(&v.join)
            .end_row();
    }
    out.send(tx, &format!("COPY posts ({POST_COLUMNS}) FROM STDIN"))?;

    let mut keys = CopyRows::default();
    for p in posts {
        keys.int(p.dedup_key as i64).int(p.id).int(p.published_at.timestamp()).end_row();
    }
    keys.send(tx, "COPY post_keys (dedup_key, post_id, published_at) FROM STDIN")
}

/// The stories' upsert: `INSERT INTO stories (…) SELECT * FROM UNNEST($1::bigint[], …) ON
/// CONFLICT (id) DO UPDATE SET` every other column.
fn story_upsert_sql() -> String {
    let columns: Vec<&str> = STORY_COLUMNS.split(',').map(str::trim).chain(["grade_rank"]).collect();
    let arrays: Vec<String> = STORY_TYPES.iter().enumerate().map(|(i, t)| format!("${}::{t}[]", i + 1)).collect();
    let updates: Vec<String> = columns[1..].iter().map(|c| format!("{c} = EXCLUDED.{c}")).collect();
    format!(
        "INSERT INTO stories ({}) SELECT * FROM UNNEST({}) ON CONFLICT (id) DO UPDATE SET {}",
        columns.join(", "),
        arrays.join(", "),
        updates.join(", ")
    )
}

/// The stories to upsert, each id once: its last version in `stories` (one statement may not
/// update a row twice; row by row, the last write would have won).
fn last_of_each(stories: &[StoryRecord]) -> Vec<&StoryRecord> {
    let mut at: HashMap<i64, usize> = HashMap::new();
    let mut out: Vec<&StoryRecord> = Vec::with_capacity(stories.len());
    for s in stories {
        match at.get(&s.id) {
            Some(&i) => out[i] = s,
            None => {
                at.insert(s.id, out.len());
                out.push(s);
            }
        }
    }
    out
}

/// Creates or replaces whole stories, in one statement.
pub(super) fn upsert_stories(tx: &mut Transaction<'_>, stories: &[StoryRecord]) -> Result<()> {
    if stories.is_empty() {
        return Ok(());
    }
    let stories = last_of_each(stories);
    let values: Vec<rows::StoryValues> = stories.iter().map(|s| rows::StoryValues::of(s)).collect();
    let ints = |f: fn(&rows::StoryValues) -> i64| values.iter().map(f).collect::<Vec<i64>>();
    let ids: Vec<i64> = stories.iter().map(|s| s.id).collect();
    let status: Vec<&str> = values.iter().map(|v| v.status).collect();
    let titles: Vec<&str> = stories.iter().map(|s| s.title.as_str()).collect();
    let keywords: Vec<&str> = values.iter().map(|v| v.keywords.as_str()).collect();
    let first_at = ints(|v| v.first_at);
    let last_at = ints(|v| v.last_at);
    let grade: Vec<Option<&str>> = values.iter().map(|v| v.grade).collect();
    let reasons: Vec<&str> = values.iter().map(|v| v.reasons.as_str()).collect();
    let manual_grade: Vec<Option<&str>> = values.iter().map(|v| v.manual_grade).collect();
    let manual_reason: Vec<Option<&str>> = stories.iter().map(|s| s.manual.as_ref().map(|(_, r)| r.as_str())).collect();
    let posts = ints(|v| v.posts);
    let sites = ints(|v| v.sites);
    let max_tier = ints(|v| v.max_tier);
    let interactions = ints(|v| v.interactions);
    let negative_share: Vec<f64> = values.iter().map(|v| v.negative_share).collect();
    let rule_hits: Vec<&str> = values.iter().map(|v| v.rule_hits.as_str()).collect();
    let topics: Vec<&str> = values.iter().map(|v| v.topics.as_str()).collect();
    let severe_words: Vec<&str> = values.iter().map(|v| v.severe_words.as_str()).collect();
    let centroid: Vec<&str> = values.iter().map(|v| v.centroid.as_str()).collect();
    let updated_at = ints(|v| v.updated_at);
    let index_terms: Vec<&str> = values.iter().map(|v| v.index_terms.as_str()).collect();
    let grade_rank = ints(|v| v.grade_rank);
    let params: [&(dyn ToSql + Sync); 22] = [
        &ids,
        &status,
        &titles,
        &keywords,
        &first_at,
        &last_at,
        &grade,
        &reasons,
        &manual_grade,
        &manual_reason,
        &posts,
        &sites,
        &max_tier,
        &interactions,
        &negative_share,
        &rule_hits,
        &topics,
        &severe_words,
        &centroid,
        &updated_at,
        &index_terms,
        &grade_rank,
    ];
    tx.execute(&story_upsert_sql(), &params)?;
    Ok(())
}

/// Alerts, numbered in the order given (a copy assigns the serial ids row by row).
pub(super) fn copy_alerts(tx: &mut Transaction<'_>, alerts: &[NewAlert]) -> Result<()> {
    if alerts.is_empty() {
        return Ok(());
    }
    let mut out = CopyRows::default();
    for a in alerts {
        out.int(a.story_id)
            .opt_text(a.from.map(|g| g.as_str()))
            .text(a.to.as_str())
            .text(&rows::json(&a.reasons))
            .int(ts(a.at))
            .end_row();
    }
    out.send(tx, "COPY alerts (story_id, from_grade, to_grade, reasons, at) FROM STDIN")
}

/// Theme matches: each (theme, post) stored once; a pair new to the store adds one to its
/// story's count for the theme. A pair given twice counts once, for the story of its first
/// mention, as the row-by-row writer did.
pub(super) fn add_themes(tx: &mut Transaction<'_>, matches: &[ThemePost]) -> Result<()> {
    if matches.is_empty() {
        return Ok(());
    }
    let mut story_of: HashMap<(&str, i64), i64> = HashMap::with_capacity(matches.len());
    let (mut themes, mut posts) = (Vec::with_capacity(matches.len()), Vec::with_capacity(matches.len()));
    for m in matches {
        if let std::collections::hash_map::Entry::Vacant(e) = story_of.entry((m.theme.as_str(), m.post)) {
            e.insert(m.story);
            themes.push(m.theme.as_str());
            posts.push(m.post);
        }
    }
    let added = tx.query(
        "INSERT INTO theme_posts (theme, post_id) SELECT * FROM UNNEST($1::text[], $2::bigint[]) \
         ON CONFLICT DO NOTHING RETURNING theme, post_id",
        &[&themes, &posts],
    )?;
    let mut counts: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for r in &added {
        let (theme, post): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        if let Some(&story) = story_of.get(&(theme.as_str(), post)) {
            *counts.entry((theme, story)).or_insert(0) += 1;
        }
    }
    if counts.is_empty() {
        return Ok(());
    }
    let (mut themes, mut stories, mut matched) = (Vec::new(), Vec::new(), Vec::new());
    for ((theme, story), n) in counts {
        themes.push(theme);
        stories.push(story);
        matched.push(n);
    }
    tx.execute(
        "INSERT INTO theme_stories (theme, story_id, matched) \
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) \
         ON CONFLICT (theme, story_id) DO UPDATE SET matched = theme_stories.matched + EXCLUDED.matched",
        &[&themes, &stories, &matched],
    )?;
    Ok(())
}

/// The places the posts name, each (post, place) once.
pub(super) fn add_places(tx: &mut Transaction<'_>, places: &[PostPlace]) -> Result<()> {
    if places.is_empty() {
        return Ok(());
    }
    let posts: Vec<i64> = places.iter().map(|p| p.post).collect();
    let codes: Vec<i64> = places.iter().map(|p| i64::from(p.code)).collect();
    tx.execute(
        "INSERT INTO post_places (post_id, code) SELECT * FROM UNNEST($1::bigint[], $2::bigint[]) \
         ON CONFLICT DO NOTHING",
        &[&posts, &codes],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_upsert_binds_one_typed_array_per_column() {
        let sql = story_upsert_sql();
        let columns = STORY_COLUMNS.split(',').count() + 1;
        assert_eq!(columns, STORY_TYPES.len());
        assert!(sql.contains(&format!("${columns}::bigint[])")), "{sql}");
        assert!(!sql.contains(&format!("${}", columns + 1)), "{sql}");
        assert!(sql.contains("grade_rank = EXCLUDED.grade_rank") && !sql.contains("id = EXCLUDED.id,"), "{sql}");
    }

    #[test]
    fn copy_text_escapes_only_what_the_format_reads() {
        let mut out = CopyRows::default();
        out.int(-7).opt_int(None).text("a\tb\nc\rd\\e \\N \\. 中文").opt_text(None).flag(true).real(-0.25).end_row();
        out.text("").real(f64::NAN).real(f64::NEG_INFINITY).real(1e-7).end_row();
        let got = String::from_utf8(out.buf).expect("utf-8");
        assert_eq!(got, "-7\t\\N\ta\\tb\\nc\\rd\\\\e \\\\N \\\\. 中文\t\\N\tt\t-0.25\n\tNaN\t-Infinity\t0.0000001\n");
    }
}
