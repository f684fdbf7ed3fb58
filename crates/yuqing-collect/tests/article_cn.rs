//! Article pages of Chinese news and government sites (issue 13, item 18): the failures named in
//! the issue, each on a small page in `tests/fixtures/article-cn/` (written for these tests; see
//! tests/fixtures/README.md). Every test failed with the extractor before issue 13.

use yuqing_collect::extract;
use yuqing_collect::source::{parse_source_toml, HtmlSelectors};
use yuqing_core::PostInput;

fn read(name: &str) -> PostInput {
    let src = parse_source_toml(
        "id = \"cn\"\nname = \"测试\"\nkind = \"html\"\nurl = \"http://example.com/\"\n[selectors]\nlinks = \"a\"\n",
    )
    .expect("source");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/article-cn").join(name);
    let html = std::fs::read_to_string(&path).expect("fixture");
    extract::article(&html, "http://example.com/a/1.html", &HtmlSelectors::default(), &src).expect("extracted")
}

fn body(p: &PostInput) -> &str {
    p.text.as_deref().unwrap_or("")
}

fn time(p: &PostInput) -> String {
    p.published_at.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn assert_no_furniture(text: &str) {
    for w in ["公网安备", "ICP备", "版权所有", "主办单位", "联系我们", "网站地图"] {
        assert!(!text.contains(w), "furniture {w} in body:\n{text}");
    }
}

#[test]
fn body_written_as_br_separated_text_in_a_div() {
    let p = read("br_in_div.html");
    let b = body(&p);
    assert!(b.starts_with("3月4日上午，市水务局在城东水厂召开供水保障工作会议"), "{b}");
    assert!(b.contains("市民如发现供水异常，可拨打供水服务热线反映"), "{b}");
    assert_eq!(b.lines().filter(|l| l.contains('。')).count(), 7, "{b}");
    assert_no_furniture(b);
    assert_eq!(p.title.as_deref(), Some("市水务局：一季度完成老旧供水管网改造120公里"));
    assert_eq!(time(&p), "2024-03-05T10:20:00+08:00");
}

#[test]
fn trs_editor_body_of_spans_beside_a_government_footer() {
    let p = read("trs_editor_span.html");
    let b = body(&p);
    assert!(b.starts_with("各区人民政府，市政府各委、办、局："), "{b}");
    assert!(b.contains("本通知自印发之日起施行。"), "{b}");
    assert!(!b.contains("索引号") && !b.contains("当前位置"), "{b}");
    assert_no_furniture(b);
    assert_eq!(p.title.as_deref(), Some("某某市人民政府办公室关于进一步做好生活垃圾分类工作的通知"));
    // The date under the headline, not the 成文日期 of the table above it.
    assert_eq!(time(&p), "2024-03-05T09:30:00+08:00");
}

#[test]
fn a_hot_search_bar_is_not_the_article() {
    let p = read("hot_search_sidebar.html");
    let b = body(&p);
    assert!(b.starts_with("连日来，市公安局交通管理支队"), "{b}");
    assert!(b.contains("经查证属实的将依法处理。"), "{b}");
    assert!(!b.contains("热搜") && !b.contains("寒潮预警") && !b.contains("公积金"), "{b}");
    assert_eq!(p.title.as_deref(), Some("电动自行车交通违法集中整治 查处违法行为三千余起"));
    assert_eq!(time(&p), "2024-01-16T08:45:00+08:00");
}

#[test]
fn og_title_cut_at_an_embedded_quote_gives_way_to_the_h1() {
    let p = read("og_title_quote.html");
    assert_eq!(p.title.as_deref(), Some("市教育局关于开展\"护苗2024\"专项行动的通知"));
    assert!(body(&p).starts_with("记者从市教育局获悉"), "{}", body(&p));
    assert_no_furniture(body(&p));
    assert_eq!(time(&p).get(..10), Some("2024-04-12"));
}

#[test]
fn the_site_suffix_is_not_part_of_the_title() {
    let p = read("title_suffix.html");
    assert_eq!(p.title.as_deref(), Some("今年春季学期中小学课后服务实现全覆盖"));
    // Xinhua writes the time as `2024 03/18 09:12:40` under the headline.
    assert_eq!(time(&p), "2024-03-18T09:12:40+08:00");
    assert!(body(&p).contains("不得变相组织集体补课"), "{}", body(&p));
    assert!(!body(&p).contains("Copyright"), "{}", body(&p));
}

#[test]
fn the_date_beside_the_headline_wins_over_the_top_bar_the_body_and_links() {
    let p = read("date_near_headline.html");
    assert_eq!(time(&p), "2024-03-05T16:40:00+08:00");
    assert_eq!(p.title.as_deref(), Some("市水务局召开供水保障工作会议"));
    let b = body(&p);
    assert!(b.contains("2023年12月31日前，全市已完成第一批三十个小区的泵房改造工作。"), "{b}");
    assert!(!b.contains("上一篇") && !b.contains("最新动态"), "{b}");
    assert_no_furniture(b);
}

#[test]
fn json_ld_date_published_wins_over_a_date_in_the_text() {
    let p = read("json_ld_date.html");
    assert_eq!(time(&p), "2024-01-16T08:45:00+08:00");
    assert_eq!(p.title.as_deref(), Some("连日来我市开展电动自行车交通违法集中整治"));
    assert!(body(&p).starts_with("连日来，市公安局交通管理支队"), "{}", body(&p));
    assert_no_furniture(body(&p));
}

#[test]
fn zoom_body_of_a_city_government_notice() {
    let p = read("gov_zoom.html");
    assert_eq!(p.title.as_deref(), Some("关于进一步做好生活垃圾分类工作的通知"));
    assert_eq!(time(&p), "2024-03-05T09:30:00+08:00");
    let b = body(&p);
    assert!(b.starts_with("各区人民政府，市政府各委、办、局："), "{b}");
    assert!(b.contains("本通知自印发之日起施行。"), "{b}");
    assert!(!b.contains("相关链接") && !b.contains("分类知识问答"), "{b}");
    assert_no_furniture(b);
}
