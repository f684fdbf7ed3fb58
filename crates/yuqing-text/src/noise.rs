//! 噪声 (noise): posts that are not about any matter an office answers for — advertising, lotteries,
//! horoscopes, marketing (微商) — and posts with no words of their own (a bare repost, emoji only).
//! They stay stored, shown and searchable, but give a story no rule hits and no casualty words, and
//! a story made mostly of commercial noise is not graded.
//!
//! Invariant: pure and deterministic; works on the matching form (simplified, half-width, lower
//! case). Each kind needs two independent cues, so one commercial word in a complaint ("买不到口罩",
//! "药店涨价") never makes it noise.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
pub use yuqing_core::NoiseKind;

use crate::headline;

/// Words that offer a sale or a deal: two of them make an advertisement. Shop and platform names
/// (淘宝, 天猫, 旗舰店) are not among them: complaints name them too.
const SALE: &[&str] = &[
    "包邮",
    "优惠券",
    "领券",
    "券后",
    "下单",
    "秒杀",
    "拍下",
    "到手价",
    "立减",
    "满减",
    "折扣价",
    "限时抢",
    "限时优惠",
    "抢购价",
    "专享价",
    "买一送一",
    "买二送一",
    "第二件半价",
    "优惠装",
    "优惠价",
    "橱窗",
    "链接购买",
    "点击购买",
    "立即购买",
    "戳链接",
    "点链接",
    "下单链接",
    "需用券",
    "微博专享",
    "自助查找心仪商品",
    "好物推荐",
];
/// Of those, the ones only a seller writes: one of them with a price makes an advertisement.
const SELLER: &[&str] =
    &["包邮", "券后", "到手价", "领券", "优惠券", "立减", "满减", "拍下", "第二件半价", "买一送一", "买二送一"];

/// A post with this many distinct hashtags is stuffed with them (one sale word then makes it an
/// advertisement; a plea for help with many tags stays a plea).
const STUFFED_TAGS: usize = 6;

/// Words of a lottery post.
const LOTTERY: &[&str] = &[
    "抽奖",
    "开奖",
    "中奖",
    "抽一位",
    "抽1位",
    "抽两位",
    "抽2位",
    "抽三位",
    "抽3位",
    "抽五位",
    "抽5位",
    "抽十位",
    "抽10位",
    "抽一个",
    "抽1个",
];
/// What a lottery asks readers to do.
const LOTTERY_ASK: &[&str] = &["转发", "关注", "评论", "转评", "转赞", "点赞"];

const SIGNS: &[&str] = &[
    "白羊座",
    "金牛座",
    "双子座",
    "巨蟹座",
    "狮子座",
    "处女座",
    "天秤座",
    "天蝎座",
    "射手座",
    "摩羯座",
    "水瓶座",
    "双鱼座",
];
const HOROSCOPE: &[&str] = &["运势", "星座", "塔罗", "桃花运", "财运", "幸运色", "幸运数字"];

const MARKETING: &[&str] = &[
    "招代理",
    "一件代发",
    "加微信",
    "加我微信",
    "加v",
    "vx",
    "v信",
    "微信号",
    "代购",
    "货源",
    "招商加盟",
    "免费加盟",
    "日赚",
    "躺赚",
    "兼职日结",
    "宝妈兼职",
    "私聊",
    "咨询我",
    "扫码进群",
];

/// The word lists, in the order of [`Counts`]' fields.
const LISTS: [&[&str]; 7] = [LOTTERY, LOTTERY_ASK, SIGNS, HOROSCOPE, SALE, SELLER, MARKETING];

/// How many distinct words of each list a text contains (as `text.contains(word)` counts them).
#[derive(Debug, Default)]
struct Counts([usize; 7]);

/// Every word of every list in one automaton (a word in several lists once), with the lists it is in.
struct Lexicon {
    automaton: AhoCorasick,
    lists: Vec<u8>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut words: Vec<&str> = Vec::new();
        let mut lists: Vec<u8> = Vec::new();
        for (i, list) in LISTS.iter().enumerate() {
            for w in *list {
                match words.iter().position(|x| x == w) {
                    Some(at) => lists[at] |= 1 << i,
                    None => {
                        words.push(w);
                        lists.push(1 << i);
                    }
                }
            }
        }
        // A DFA: a hundred short words make a small one, and it scans fastest.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)
            .expect("the built-in noise words form a valid automaton");
        Lexicon { automaton, lists }
    })
}

/// One overlapping scan for all the lists: every occurrence of every word is reported, so each
/// word found counts once in each of its lists, as a `contains` check per word did.
fn counts(text: &str) -> Counts {
    let lex = lexicon();
    let mut seen = vec![0u64; lex.lists.len().div_ceil(64)];
    let mut out = Counts::default();
    for m in lex.automaton.find_overlapping_iter(text) {
        let id = m.pattern().as_usize();
        let (slot, bit) = (id / 64, 1u64 << (id % 64));
        if seen[slot] & bit != 0 {
            continue;
        }
        seen[slot] |= bit;
        let lists = lex.lists[id];
        for (i, n) in out.0.iter_mut().enumerate() {
            *n += usize::from(lists & (1 << i) != 0);
        }
    }
    out
}

/// A price written out: ¥12, 12元, 12.9元.
fn has_price(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).any(|w| (w[0] == '¥' || w[0] == '￥') && w[1].is_ascii_digit())
        || chars.windows(2).any(|w| w[0].is_ascii_digit() && (w[1] == '元' || w[1] == '块'))
}

/// The noise kind of a stored post: [`classify`] of its title and text (matching forms), else
/// [`NoiseKind::Copied`] when it joined its story as a passage pasted under hashtags.
pub fn of_stored(title: &str, text: &str, join: &yuqing_core::JoinReason) -> Option<NoiseKind> {
    with_join(classify(title, text), join)
}

/// A post's noise kind from its text's (`classify`) and the reason it joined its story: a text
/// that is not noise by itself is [`NoiseKind::Copied`] when it joined as a pasted copy.
pub fn with_join(text_noise: Option<NoiseKind>, join: &yuqing_core::JoinReason) -> Option<NoiseKind> {
    text_noise.or(match join {
        yuqing_core::JoinReason::Copied { .. } => Some(NoiseKind::Copied),
        _ => None,
    })
}

/// The noise kind of a post from its title and text in matching form, or None for a post that may
/// be about a matter.
pub fn classify(title: &str, text: &str) -> Option<NoiseKind> {
    let joined;
    let all = if title.is_empty() {
        text
    } else {
        joined = format!("{title}\n{text}");
        &joined
    };
    let Counts([lottery, lottery_ask, signs, horoscope, sale, seller, marketing]) = counts(all);
    if lottery >= 1 && lottery_ask >= 2 {
        return Some(NoiseKind::Lottery);
    }
    if signs >= 3 || (signs >= 1 && horoscope >= 1) {
        return Some(NoiseKind::Horoscope);
    }
    // Hashtag stuffing: a sales pitch with trending tags appended so it shows under each of them
    // (the tags are looked for only when a sale word is there).
    let stuffed = || crate::hashtag::tags(all).len() >= STUFFED_TAGS;
    if sale >= 2 || (seller >= 1 && has_price(all)) || (sale >= 1 && stuffed()) {
        return Some(NoiseKind::Advertising);
    }
    if marketing >= 2 {
        return Some(NoiseKind::Marketing);
    }
    // No words of the author's own, and no hashtag that names a matter (a sentence-like tag such as
    // #金银潭医院恳请康复患者捐献血浆# says what the repost is about).
    let own = headline::clean(all);
    if own.chars().filter(|c| c.is_alphanumeric()).take(2).count() < 2
        && !crate::hashtag::tags(all).iter().any(|t| t.chars().count() >= headline::MIN_TAG_CHARS)
    {
        return Some(NoiseKind::NoText);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching_form;

    fn kind(text: &str) -> Option<NoiseKind> {
        classify("", &matching_form(text))
    }

    #[test]
    fn commercial_posts_are_noise() {
        // Real posts of the February 2020 Weibo data.
        assert_eq!(
            kind("【冬己麦芽饼】要想买得爽快，优惠装进口袋！第二件半价，包邮到家"),
            Some(NoiseKind::Advertising)
        );
        assert_eq!(kind("关注+转发，抽3位送出口罩一盒，3月1日开奖"), Some(NoiseKind::Lottery));
        assert_eq!(kind("今日运势：白羊座宜居家，金牛座财运上升"), Some(NoiseKind::Horoscope));
        assert_eq!(kind("一件代发，招代理，加微信了解货源"), Some(NoiseKind::Marketing));
        assert_eq!(kind("医用口罩秒杀，到手价19.9元，戳链接"), Some(NoiseKind::Advertising));
        let stuffed = "【冬己麦芽饼】要想买得爽快，优惠装进口袋！今天小编携带大家进入冬己麦芽饼时代~#武汉女子监狱监狱长被免职# \
            #江苏校园采取封闭式管理# #红糖糍粑# #李兰娟# #一治愈者出院10日后复检出核酸阳性# #韩国确认发生超级传播# 收起全文d";
        assert_eq!(
            kind(stuffed),
            Some(NoiseKind::Advertising),
            "the advertisement that opened incident #89 in issue 14"
        );
        let plea = "求助！我妈妈确诊住院没有床位 #武汉# #新冠肺炎# #求助# #肺炎患者求助# #武汉加油# #抗击肺炎#";
        assert_eq!(kind(plea), None);
        let news = "#关注新冠肺炎##新冠肺炎传播途径包括气溶胶传播##新冠病毒疫苗可能在18个月内完成##4次检测阴性第5次才确诊#\
            #疑似或确诊孕产妇产检和分娩定点医院##专家福尔摩斯式破解聚集性疫情# 【多地蔬菜滞销农民出奇招：千余个蔬菜大棚变直播间】";
        assert_eq!(kind(news), None, "news with many tags");
    }

    #[test]
    fn complaints_and_news_with_one_commercial_word_are_not() {
        for real in [
            "药店口罩涨价到50元一个，太黑心了",
            "网上下单的口罩一个月了还没发货，客服不回",
            "市场监管局通报：某药店哄抬口罩价格被罚款3万元",
            "武汉红十字会物资分配，捐赠的口罩去哪了",
            "某地抽奖活动引发人员聚集，已被叫停",
            "双子座流星雨今晚可见",
            "原价1元的口罩现在卖到10元，特价都是骗人的",
            "爱心企业送出口罩一万只，网友纷纷转发点赞",
            "#6毛进价口罩卖1元被罚将重启调查#照这么说，我感觉我淘宝买的那些店铺都可以关门了！！！",
            "请阿里巴巴1688能够给个保证，贵平台售卖的医用外科口罩原材料是否正规达标 @淘宝 @天猫",
            "求助！家人确诊住院，加微信联系不上医院",
        ] {
            assert_eq!(kind(real), None, "{real}");
        }
    }

    #[test]
    fn posts_without_own_words_are_no_text_but_a_repost_comment_counts() {
        assert_eq!(kind("转发微博"), Some(NoiseKind::NoText));
        assert_eq!(kind("#武汉加油# [心][心]"), Some(NoiseKind::NoText));
        assert_eq!(kind("#金银潭医院恳请康复患者捐献血浆#"), None, "a tag that names a matter");
        assert_eq!(kind("O网页链接 http://t.cn/abc"), Some(NoiseKind::NoText));
        assert_eq!(kind("//@人民日报:武汉新增确诊病例下降"), None);
        assert_eq!(kind("医院排队三小时"), None);
        assert!(!NoiseKind::NoText.is_commercial() && NoiseKind::Lottery.is_commercial());
    }

    #[test]
    fn one_scan_counts_each_list_as_a_contains_check_per_word_does() {
        let naive = |t: &str| LISTS.map(|list| list.iter().filter(|w| t.contains(**w)).count());
        for t in [
            "",
            "优惠券后包邮包邮，券后到手价9.9元，领券立减",
            "抽1位抽一位抽1个，转发关注评论转评转赞点赞",
            "加v信vx加我微信微信号代购货源日赚躺赚",
            "白羊座金牛座双子座运势星座塔罗幸运色幸运数字",
            "买一送一买二送一第二件半价优惠装优惠价下单链接点链接",
            "医院排队三小时，口罩买不到",
        ] {
            assert_eq!(counts(t).0, naive(t), "{t}");
        }
    }
}
