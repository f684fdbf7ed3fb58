//! What is reached through an incident is seen only by who may see the incident: 专报 (special
//! reports), alert acknowledgements, attachments and 处置情况报告单 (disposal reports), through the
//! API and the pages, for every role in and outside the incident's department. The real router
//! over a temporary data directory; every call signs in with a bearer token.
//!
//! The world: two departments, 卫健委 (A) and 教育局 (B). Story 1 (医疗) has incident 1, led by A;
//! story 2 (教育) has incident 2, led by B; story 3 (医疗) has no incident and routes to A; story 4
//! routes nowhere. Each story has one alert.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use tower::ServiceExt;
use yuqing_core::incident::AssignmentRule;
use yuqing_core::people::Role;
use yuqing_core::{Grade, JoinReason, Metrics, Sentiment, SourceTier, StoryStatus};
use yuqing_desk::{Desk, DeskConfig};
use yuqing_server::{router, AppState};
use yuqing_store::desk::{self, NewUser};
use yuqing_store::{DataDir, NewAlert, PostRecord, Store, StoryRecord, WriteBatch};

const A: &str = "卫健委";
const B: &str = "教育局";

/// Everyone: login name, role, department.
const PEOPLE: &[(&str, Role, Option<&str>)] = &[
    ("admin", Role::Admin, None),
    ("office", Role::Coordinator, None),
    ("leader", Role::Approver, None),
    ("officer", Role::Officer, None),
    ("viewer", Role::Viewer, None),
    ("a_officer", Role::Officer, Some(A)),
    ("a_member", Role::DepartmentMember, Some(A)),
    ("b_officer", Role::Officer, Some(B)),
    ("b_member", Role::DepartmentMember, Some(B)),
];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn story(id: i64, title: &str, topic: &str) -> StoryRecord {
    StoryRecord {
        id,
        status: StoryStatus::Open,
        title: title.into(),
        keywords: vec![],
        first_at: t0(),
        last_at: t0() + Duration::hours(1),
        grade: Some(Grade::III),
        reasons: vec![],
        manual: None,
        posts: 1,
        sites: 1,
        max_tier: SourceTier::Local,
        interactions: 1,
        negative_share: 1.0,
        rule_hits: vec![],
        topics: vec![(topic.into(), 1)],
        severe_words: vec![],
        centroid: vec![],
        index_terms: vec![],
        updated_at: t0(),
    }
}

fn post(id: i64, story_id: i64, title: &str) -> PostRecord {
    PostRecord {
        id,
        story_id,
        dedup_key: id as u64,
        content_hash: id as u64,
        duplicate_of: None,
        source: "本地论坛".into(),
        url: Some(format!("https://bbs.example/t/{id}")),
        title: title.into(),
        text: format!("{title}，网民热议"),
        author: None,
        place: None,
        published_at: t0().fixed_offset(),
        time_estimated: false,
        ingested_at: t0(),
        tier: SourceTier::Local,
        metrics: Metrics::default(),
        simhash: id as u64,
        sentiment: Sentiment::Negative,
        sentiment_score: 0.9,
        topics: vec![],
        hits: vec![],
        severe_words: vec![],
        keywords: vec![],
        join: JoinReason::New,
    }
}

struct World {
    _dir: tempfile::TempDir,
    state: AppState,
    app: Router,
}

struct Resp {
    status: StatusCode,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let segmenter = Arc::new(yuqing_text::Segmenter::new::<&str>(&[]));
        let mut data = DataDir::open(dir.path(), segmenter).unwrap();
        let batch = WriteBatch {
            posts: vec![
                post(1, 1, "市医院排队"),
                post(2, 2, "学校收费"),
                post(3, 3, "诊所收费"),
                post(4, 4, "路灯不亮"),
            ],
            stories: vec![
                story(1, "市医院排队", "医疗"),
                story(2, "学校收费", "教育"),
                story(3, "诊所收费", "医疗"),
                story(4, "路灯不亮", "其他"),
            ],
            alerts: (1..=4)
                .map(|s| NewAlert { story_id: s, from: None, to: Grade::III, reasons: vec![], at: t0() })
                .collect(),
            closed: vec![],
            themes: vec![],
            places: vec![],
        };
        data.store.write(&batch).unwrap();
        let c = data.store.connection();
        for (name, role, dept) in PEOPLE {
            let u = NewUser {
                name: name.to_string(),
                display_name: name.to_string(),
                role: Some(*role),
                department: dept.map(String::from),
                ..Default::default()
            };
            desk::add_user(c, &u, &desk::token_hash(&format!("tok-{name}")), t0()).unwrap();
        }
        let mut state = AppState::new(data, "测试单位".into(), None);
        let routing = vec![
            AssignmentRule { department: A.into(), topics: vec!["医疗".into()], ..Default::default() },
            AssignmentRule { department: B.into(), topics: vec!["教育".into()], ..Default::default() },
        ];
        state.desk = Arc::new(Desk::new(DeskConfig { routing, ..Default::default() }));
        state.departments = vec![A.into(), B.into()];
        let now = Arc::new(Mutex::new(t0() + Duration::hours(2)));
        state.clock = Arc::new(move || *now.lock().unwrap());
        let app = router(state.clone());
        World { _dir: dir, state, app }
    }

    async fn call(&self, who: &str, method: &str, path: &str, content_type: &str, body: &[u8]) -> Resp {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer tok-{who}"))
            .header("content-type", content_type)
            .body(Body::from(body.to_vec()))
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024).await.unwrap();
        Resp { status, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, who: &str, path: &str) -> Resp {
        self.call(who, "GET", path, "text/plain", b"").await
    }

    async fn post_json(&self, who: &str, path: &str, body: Value) -> Resp {
        self.call(who, "POST", path, "application/json", body.to_string().as_bytes()).await
    }

    async fn post_form(&self, who: &str, path: &str, form: &str) -> Resp {
        self.call(who, "POST", path, "application/x-www-form-urlencoded", form.as_bytes()).await
    }

    /// Opens incidents 1 (story 1, led by A) and 2 (story 2, led by B) as the office.
    async fn open_incidents(&self) {
        for (story, lead) in [(1, A), (2, B)] {
            let r = self.post_json("office", "/api/v1/incidents", json!({"story": story})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let inc = &r.json()["incident"];
            assert_eq!((inc["id"].as_i64(), inc["lead_department"].as_str()), (Some(story), Some(lead)), "{inc}");
        }
    }

    fn ack_of(&self, alert: i64) -> Option<String> {
        let data = self.state.data.lock().unwrap();
        desk::alert_ack(data.store.connection(), alert).unwrap().map(|(by, _)| by)
    }
}

/// Who sees incident 1 (led by A): everyone but the people of department B.
fn sees_incident_1(who: &str) -> bool {
    !who.starts_with("b_")
}

/// Checks `actual` against the expected status of each person, all at once.
fn assert_matrix(what: &str, actual: &[(&str, StatusCode, String)], expected: impl Fn(&str) -> StatusCode) {
    let wrong: Vec<String> = actual
        .iter()
        .filter(|(who, status, _)| *status != expected(who))
        .map(|(who, status, body)| {
            format!("{who}: {status} (expected {}) {}", expected(who), body.chars().take(200).collect::<String>())
        })
        .collect();
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

fn is_scoped(who: &str) -> bool {
    who.starts_with("a_") || who.starts_with("b_")
}

#[tokio::test]
async fn special_reports_follow_their_incident_through_the_api_and_the_pages() {
    let w = World::new();
    w.open_incidents().await;
    let made = w.post_json("admin", "/api/v1/reports", json!({"kind": "special", "incident": 2})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let of_b = made.json()["id"].as_i64().unwrap();
    let daily = w.post_json("admin", "/api/v1/reports", json!({"kind": "daily", "date": "2026-11-20"})).await;
    assert_eq!(daily.status, StatusCode::CREATED, "{}", daily.body);
    let daily = daily.json()["id"].as_i64().unwrap();

    // Generating a 专报 on incident 1: who may make reports, and sees the incident.
    let makers = [Role::Admin, Role::Coordinator, Role::Approver, Role::Officer];
    let mut made_by: Vec<(String, i64)> = Vec::new();
    let mut actual = Vec::new();
    for (who, _, _) in PEOPLE {
        let r = w.post_json(who, "/api/v1/reports", json!({"kind": "special", "incident": 1})).await;
        if r.status == StatusCode::CREATED {
            made_by.push((who.to_string(), r.json()["id"].as_i64().unwrap()));
        }
        actual.push((*who, r.status, r.body));
    }
    let role = |who: &str| PEOPLE.iter().find(|p| p.0 == who).unwrap().1;
    assert_matrix("POST /api/v1/reports special on incident 1", &actual, |who| {
        if makers.contains(&role(who)) && sees_incident_1(who) {
            StatusCode::CREATED
        } else {
            StatusCode::FORBIDDEN
        }
    });
    let b_refused = &actual.iter().find(|a| a.0 == "b_officer").unwrap().2;
    assert!(b_refused.contains("只能查看本单位"), "the refusal says why: {b_refused}");
    let (_, of_a) = made_by[0].clone();

    // The same through the page's form.
    for (who, want) in [("b_officer", StatusCode::FORBIDDEN), ("a_officer", StatusCode::SEE_OTHER)] {
        let r = w.post_form(who, "/reports/generate", "kind=special&incident=1").await;
        assert_eq!(r.status, want, "{who}: {}", r.body);
    }

    // Reading it (JSON and every download format go through one handler), and its page.
    let readers = [Role::Admin, Role::Coordinator, Role::Approver, Role::Officer, Role::Viewer];
    let expect_read = |who: &str| {
        if readers.contains(&role(who)) && sees_incident_1(who) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        }
    };
    let mut api = Vec::new();
    let mut page = Vec::new();
    let mut download = Vec::new();
    for (who, _, _) in PEOPLE {
        let r = w.get(who, &format!("/api/v1/reports/{of_a}")).await;
        api.push((*who, r.status, r.body));
        let r = w.get(who, &format!("/api/v1/reports/{of_a}?format=html")).await;
        download.push((*who, r.status, r.body));
        let r = w.get(who, &format!("/reports/{of_a}")).await;
        page.push((*who, r.status, r.body));
    }
    assert_matrix("GET /api/v1/reports/N of incident 1", &api, expect_read);
    assert_matrix("GET /api/v1/reports/N?format=html of incident 1", &download, expect_read);
    assert_matrix("GET /reports/N of incident 1", &page, expect_read);
    // B's own 专报 and the organization's daily report stay readable for B's officer.
    for id in [of_b, daily] {
        assert_eq!(w.get("b_officer", &format!("/api/v1/reports/{id}")).await.status, StatusCode::OK);
        assert_eq!(w.get("b_officer", &format!("/reports/{id}")).await.status, StatusCode::OK);
    }
    assert_eq!(w.get("a_officer", &format!("/api/v1/reports/{of_b}")).await.status, StatusCode::FORBIDDEN);

    // The archive lists leave out what the reader may not open, and count only what they may.
    let ids = |v: &Value| -> Vec<i64> {
        v["reports"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect()
    };
    let all = w.get("office", "/api/v1/reports?limit=500").await.json();
    let every: Vec<i64> = ids(&all);
    for (who, _, _) in PEOPLE.iter().filter(|p| readers.contains(&p.1)) {
        let r = w.get(who, "/api/v1/reports?limit=500").await;
        assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.body);
        let v = r.json();
        let listed = ids(&v);
        let visible: Vec<i64> = every
            .iter()
            .copied()
            .filter(|id| *id == daily || if *id == of_b { !who.starts_with("a_") } else { sees_incident_1(who) })
            .collect();
        assert_eq!(listed, visible, "{who}'s archive list");
        assert_eq!(v["total"].as_u64(), Some(visible.len() as u64), "{who}'s total");
        let page = w.get(who, "/reports").await;
        assert_eq!(page.status, StatusCode::OK);
        for id in &every {
            assert_eq!(
                page.body.contains(&format!("href=\"/reports/{id}\"")),
                visible.contains(id),
                "{who}'s /reports page and report {id}"
            );
        }
    }
    // The list keeps its limit for a filtered reader.
    let r = w.get("b_officer", "/api/v1/reports?limit=1").await.json();
    assert_eq!(ids(&r).len(), 1);
    assert_eq!(r["total"].as_u64(), Some(2), "{r}");
}

#[tokio::test]
async fn only_the_incidents_department_and_the_office_acknowledge_an_alert() {
    let w = World::new();
    w.open_incidents().await;
    // Alert n is about story n (the store numbers them in order).
    // (alert, who may acknowledge it among the departments' people)
    let cases: [(i64, &str, Own); 4] = [
        (1, "story 1: incident 1, led by A", |who| who.starts_with("a_")),
        (2, "story 2: incident 2, led by B", |who| who.starts_with("b_")),
        (3, "story 3: no incident, routed to A", |who| who.starts_with("a_")),
        (4, "story 4: no incident, routed nowhere", |_| false),
    ];
    for (alert, what, own) in cases {
        // The refused first, so that nobody's acknowledgement is there yet.
        let mut actual = Vec::new();
        for (who, _, _) in PEOPLE.iter().filter(|p| is_scoped(p.0) && !own(p.0)) {
            actual.push(ack(&w, who, alert).await);
        }
        assert_matrix(&format!("ack of alert {alert} ({what}) by other departments"), &actual, |_| {
            StatusCode::FORBIDDEN
        });
        assert_eq!(w.ack_of(alert), None, "a refused acknowledgement leaves none ({what})");
        let mut actual = Vec::new();
        for (who, _, _) in PEOPLE.iter().filter(|p| !is_scoped(p.0) || own(p.0)) {
            actual.push(ack(&w, who, alert).await);
        }
        assert_matrix(&format!("ack of alert {alert} ({what})"), &actual, |who| {
            if who == "viewer" {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            }
        });
        assert!(w.ack_of(alert).is_some(), "{what}");
    }
    // Only the acknowledgements that were allowed are in the audit log.
    let data = w.state.data.lock().unwrap();
    let audit = desk::audit_recent(data.store.connection(), 500, 0).unwrap();
    for e in audit.items.iter().filter(|e| e.action == "alert.ack") {
        let allowed = match e.target.as_str() {
            "alert:1" | "alert:3" => !e.actor.starts_with("b_"),
            "alert:2" => !e.actor.starts_with("a_"),
            _ => !is_scoped(&e.actor),
        };
        assert!(allowed, "{} acknowledged {}", e.actor, e.target);
    }
}

/// Whose department an alert is for, by login name.
type Own = fn(&str) -> bool;

async fn ack(w: &World, who: &'static str, alert: i64) -> (&'static str, StatusCode, String) {
    let r = w.call(who, "POST", &format!("/api/v1/alerts/{alert}/ack"), "application/json", b"").await;
    (who, r.status, r.body)
}

#[tokio::test]
async fn attachments_are_read_and_added_only_by_who_sees_the_incident() {
    let w = World::new();
    w.open_incidents().await;
    let mut actual = Vec::new();
    let mut sha = String::new();
    for (who, _, _) in PEOPLE {
        let r = w
            .call(
                who,
                "POST",
                "/api/v1/incidents/1/attachments?name=note.txt",
                "application/octet-stream",
                format!("附件 {who}").as_bytes(),
            )
            .await;
        if r.status == StatusCode::CREATED && sha.is_empty() {
            sha = r.json()["sha256"].as_str().unwrap().to_string();
        }
        actual.push((*who, r.status, r.body));
    }
    assert_matrix("POST /api/v1/incidents/1/attachments", &actual, |who| {
        if who == "viewer" || !sees_incident_1(who) {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::CREATED
        }
    });
    let mut actual = Vec::new();
    for (who, _, _) in PEOPLE {
        let r = w.get(who, &format!("/api/v1/incidents/1/attachments/{sha}")).await;
        actual.push((*who, r.status, r.body));
    }
    assert_matrix("GET /api/v1/incidents/1/attachments/SHA", &actual, |who| {
        if sees_incident_1(who) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        }
    });
    // Not through B's own incident either: the attachment belongs to incident 1.
    let r = w.get("b_member", &format!("/api/v1/incidents/2/attachments/{sha}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // What B's people were refused was not attached.
    let inc = w.get("admin", "/api/v1/incidents/1").await.json();
    let names: Vec<&str> =
        inc["incident"]["attachments"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), PEOPLE.iter().filter(|p| p.0 != "viewer" && sees_incident_1(p.0)).count(), "{names:?}");
}

#[tokio::test]
async fn disposal_reports_follow_their_incident_through_the_api_and_the_pages() {
    let w = World::new();
    w.open_incidents().await;
    let role = |who: &str| PEOPLE.iter().find(|p| p.0 == who).unwrap().1;
    let writers = [Role::Admin, Role::Coordinator, Role::Officer, Role::DepartmentMember];

    // Creating one for incident 1, through the API and the page's form.
    let mut actual = Vec::new();
    let mut form_id = 0;
    for (who, _, _) in PEOPLE {
        let r = w.post_json(who, "/api/v1/reports/disposal", json!({"incident": 1})).await;
        if r.status == StatusCode::CREATED && form_id == 0 {
            form_id = r.json()["id"].as_i64().unwrap();
        }
        actual.push((*who, r.status, r.body));
    }
    let may_write = |who: &str| writers.contains(&role(who)) && sees_incident_1(who);
    assert_matrix("POST /api/v1/reports/disposal for incident 1", &actual, |who| {
        if may_write(who) {
            StatusCode::CREATED
        } else {
            StatusCode::FORBIDDEN
        }
    });
    let mut actual = Vec::new();
    for (who, _, _) in PEOPLE {
        let r = w.post_form(who, "/reports/disposal", "incident=1").await;
        actual.push((*who, r.status, r.body));
    }
    assert_matrix("POST /reports/disposal (page form) for incident 1", &actual, |who| {
        if may_write(who) {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::FORBIDDEN
        }
    });

    // Reading, editing and issuing it.
    let mut get = Vec::new();
    let mut page = Vec::new();
    let mut edit = Vec::new();
    let mut page_edit = Vec::new();
    for (who, _, _) in PEOPLE {
        let r = w.get(who, &format!("/api/v1/reports/disposal/{form_id}")).await;
        get.push((*who, r.status, r.body));
        let r = w.get(who, &format!("/reports/disposal/{form_id}")).await;
        page.push((*who, r.status, r.body));
        let r = w
            .post_json(who, &format!("/api/v1/reports/disposal/{form_id}"), json!({"leader": format!("{who} 改")}))
            .await;
        edit.push((*who, r.status, r.body));
        let r = w.post_form(who, &format!("/reports/disposal/{form_id}"), "action=save&phone=123").await;
        page_edit.push((*who, r.status, r.body));
    }
    let may_read = |who: &str| {
        if sees_incident_1(who) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        }
    };
    assert_matrix("GET /api/v1/reports/disposal/N", &get, may_read);
    assert_matrix("GET /reports/disposal/N", &page, may_read);
    assert_matrix("POST /api/v1/reports/disposal/N", &edit, |who| {
        if may_write(who) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        }
    });
    assert_matrix("POST /reports/disposal/N (save)", &page_edit, |who| {
        if may_write(who) {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::FORBIDDEN
        }
    });
    let form = w.get("admin", &format!("/api/v1/reports/disposal/{form_id}")).await.json();
    assert!(!form["fields"]["leader"].as_str().unwrap_or("").contains("b_"), "B's edit did not land: {form}");
    for who in ["b_officer", "b_member"] {
        let r =
            w.call(who, "POST", &format!("/api/v1/reports/disposal/{form_id}/issue"), "application/json", b"").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
    }

    // The lists leave it out for B.
    let b_form = w.post_json("b_member", "/api/v1/reports/disposal", json!({"incident": 2})).await;
    assert_eq!(b_form.status, StatusCode::CREATED, "{}", b_form.body);
    for (who, _, _) in PEOPLE {
        let v = w.get(who, "/api/v1/reports/disposal").await.json();
        let incidents: Vec<i64> =
            v["reports"].as_array().unwrap().iter().map(|r| r["incident_id"].as_i64().unwrap()).collect();
        assert_eq!(incidents.contains(&1), sees_incident_1(who), "{who}: {incidents:?}");
        assert_eq!(incidents.contains(&2), !who.starts_with("a_"), "{who}: {incidents:?}");
        let page = w.get(who, "/reports/disposal").await;
        assert_eq!(
            page.body.contains(&format!("href=\"/reports/disposal/{form_id}\"")),
            sees_incident_1(who),
            "{who}'s page"
        );
    }
}
