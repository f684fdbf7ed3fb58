//! 领域: topic lexicons for the default domains of public-opinion work, and the scoring that
//! turns lexicon hits into a post's topics.
//!
//! Invariant: lexicons are data (replaceable from the configuration); scoring is deterministic.

/// A named topic and its words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicLexicon {
    pub name: String,
    pub words: Vec<String>,
}

/// A topic is given when the distinct words found weigh at least this much
/// (a word weighs its length in characters minus one: one 3-character word or two 2-character words).
pub const TOPIC_MIN_SCORE: usize = 2;

/// At most this many topics per post, the strongest first.
pub const MAX_TOPICS: usize = 3;

const DEFAULTS: &[(&str, &[&str])] = &[
    (
        "食品药品",
        &[
            "食品安全",
            "食物中毒",
            "过期食品",
            "地沟油",
            "添加剂",
            "假药",
            "疫苗",
            "药品",
            "药店",
            "保健品",
            "市场监管",
            "农药残留",
            "变质",
            "食堂",
            "外卖",
            "奶粉",
            "餐馆",
            "餐厅",
            "吃出",
            "异物",
            "双黄连",
            "板蓝根",
        ],
    ),
    (
        "安全生产",
        &[
            "安全生产",
            "安全事故",
            "生产事故",
            "爆炸",
            "起火",
            "火灾",
            "坍塌",
            "塌方",
            "矿难",
            "瓦斯",
            "泄漏",
            "危化品",
            "化工厂",
            "工地",
            "施工",
            "违规作业",
            "消防",
            "应急管理",
            "触电",
            "高空坠落",
        ],
    ),
    (
        "征地拆迁",
        &[
            "征地",
            "拆迁",
            "强拆",
            "补偿款",
            "安置房",
            "征收",
            "拆除",
            "宅基地",
            "土地流转",
            "违建",
            "钉子户",
            "棚改",
            "旧改",
            "回迁",
        ],
    ),
    (
        "公共卫生",
        &[
            "疫情",
            "新冠",
            "肺炎",
            "冠状病毒",
            "病毒",
            "确诊",
            "疑似病例",
            "感染",
            "传染",
            "隔离",
            "核酸",
            "口罩",
            "防控",
            "疾控",
            "流感",
            "发热",
            "卫健委",
            "消毒",
            "病例",
            "封城",
        ],
    ),
    (
        "救灾救助",
        &[
            "救灾",
            "灾区",
            "地震",
            "洪水",
            "洪涝",
            "台风",
            "暴雨",
            "泥石流",
            "滑坡",
            "干旱",
            "救援",
            "受灾",
            "转移安置",
            "救助",
            "捐款",
            "捐赠",
            "物资",
            "援助",
            "低保",
            "困难群众",
        ],
    ),
    (
        "教育",
        &[
            "学校",
            "学生",
            "教师",
            "老师",
            "校长",
            "高考",
            "中考",
            "考试",
            "招生",
            "学区",
            "幼儿园",
            "教育局",
            "补课",
            "校园",
            "霸凌",
            "开学",
            "停课",
            "网课",
            "学费",
            "食堂",
        ],
    ),
    (
        "医疗",
        &[
            "医院",
            "医生",
            "护士",
            "医护",
            "患者",
            "病人",
            "急诊",
            "住院",
            "医保",
            "医疗纠纷",
            "医闹",
            "医患",
            "手术",
            "误诊",
            "看病",
            "挂号",
            "床位",
            "药费",
            "救治",
            "医务人员",
        ],
    ),
    (
        "环境",
        &[
            "污染",
            "排污",
            "环保",
            "生态环境",
            "空气质量",
            "雾霾",
            "臭味",
            "异味",
            "噪音",
            "噪声",
            "垃圾",
            "填埋",
            "焚烧",
            "废水",
            "污水",
            "水质",
            "偷排",
            "扬尘",
            "黑臭",
            "土壤",
        ],
    ),
    (
        "交通",
        &[
            "交通",
            "车祸",
            "交通事故",
            "追尾",
            "堵车",
            "拥堵",
            "地铁",
            "公交",
            "高速",
            "封路",
            "限行",
            "道路",
            "出租车",
            "网约车",
            "航班",
            "火车",
            "铁路",
            "高铁",
            "停运",
            "红绿灯",
        ],
    ),
    (
        "城市管理",
        &[
            "城管",
            "占道",
            "摊贩",
            "违章建筑",
            "违停",
            "井盖",
            "路灯",
            "停车",
            "市容",
            "绿化",
            "物业",
            "小区",
            "电梯",
            "供暖",
            "停水",
            "停电",
            "燃气",
            "下水道",
            "积水",
            "共享单车",
        ],
    ),
    (
        "社会民生",
        &[
            "工资",
            "欠薪",
            "讨薪",
            "农民工",
            "就业",
            "失业",
            "养老",
            "社保",
            "房价",
            "租房",
            "物价",
            "涨价",
            "菜价",
            "困难",
            "民生",
            "投诉",
            "维权",
            "信访",
            "上访",
            "救济",
        ],
    ),
    (
        "司法执法",
        &[
            "法院",
            "检察院",
            "公安",
            "警察",
            "民警",
            "派出所",
            "执法",
            "判决",
            "冤案",
            "诈骗",
            "涉黑",
            "扫黑",
            "辅警",
            "拘留",
            "立案",
            "司法",
            "律师",
            "违法",
            "犯罪",
            "嫌疑人",
        ],
    ),
    (
        "干部作风",
        &[
            "腐败",
            "贪污",
            "受贿",
            "官员",
            "干部",
            "不作为",
            "乱作为",
            "形式主义",
            "官僚主义",
            "纪委",
            "问责",
            "通报",
            "违纪",
            "吃拿卡要",
            "懒政",
            "公款",
            "特权",
            "瞒报",
            "红十字会",
            "失职",
        ],
    ),
];

/// The default lexicons.
pub fn default_lexicons() -> Vec<TopicLexicon> {
    DEFAULTS
        .iter()
        .map(|(name, words)| TopicLexicon {
            name: name.to_string(),
            words: words.iter().map(|w| w.to_string()).collect(),
        })
        .collect()
}

/// Topics from per-topic scores (topic index → score), strongest first, ties by index.
pub fn pick_topics(scores: &[(usize, usize)]) -> Vec<usize> {
    let mut v: Vec<(usize, usize)> = scores.iter().copied().filter(|(_, s)| *s >= TOPIC_MIN_SCORE).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().take(MAX_TOPICS).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_the_domains_users_name() {
        let names: Vec<String> = default_lexicons().into_iter().map(|l| l.name).collect();
        for n in [
            "食品药品",
            "安全生产",
            "征地拆迁",
            "公共卫生",
            "救灾救助",
            "教育",
            "医疗",
            "环境",
            "交通",
            "城市管理",
            "社会民生",
        ] {
            assert!(names.iter().any(|x| x == n), "{n}");
        }
    }

    #[test]
    fn weak_scores_are_dropped_and_strong_ones_ordered() {
        assert_eq!(pick_topics(&[(0, 1), (1, 3), (2, 5), (3, 2), (4, 9)]), vec![4, 2, 1]);
        assert!(pick_topics(&[(0, 1)]).is_empty());
    }
}
