//! Watch rules (监测规则): the rule language parsed to a canonical AST, all rules compiled into one automaton.
//! Invariant: pure and panic-free on any input; `parse(&r.to_string()) == Ok(r)` for every canonical rule `r`.
//!
//! # The language
//!
//! ```text
//! or     := and ( "|" and )*
//! and    := unary ( "&" unary )*
//! unary  := "!" unary | near
//! near   := scope? ( phrase ( "NEAR/" n scope? phrase )? | "(" or ")" )
//! scope  := "title:" | "source:" | "标题:" | "来源:"   (field names ASCII case-insensitive)
//! phrase := "\"" chars "\"" | bare-word
//! ```
//!
//! * A quoted phrase decodes `\"` and `\\` (and a backslash before any other quote character);
//!   a backslash before anything else is kept as written. A bare word runs until white space or
//!   one of `& | ! ( ) "`; it stops before `:` only when it is a field name (then it is a scope).
//!   An empty or blank phrase is an error; two conditions side by side without `&`/`|` too.
//! * `NEAR/n` (upper case, n in 0..=10000, full-width `／` and digits accepted) is true when an
//!   occurrence of each phrase lies in the same field with at most n characters between them,
//!   in either order (overlap counts as 0; `a NEAR/n a` needs two occurrences). A bare `NEAR`
//!   without `/n` is an error (quote it to search for the word). Only one scope per NEAR: the
//!   right phrase may repeat the left's scope, not name another.
//! * A scope applies to every phrase and NEAR inside it; the innermost scope wins. Without a
//!   scope a phrase matches the title or the text; `source:` matches the source (site) name.
//! * Full-width `（ ）｜＆！：＂` and curly quotes `“ ”` act as their ASCII counterparts; all
//!   quote characters are interchangeable.
//! * Parentheses and `!` nest at most [`MAX_DEPTH`] deep.
//! * Error positions are 0-based char indexes into the expression. An unclosed parenthesis is
//!   reported at the opening parenthesis, an unclosed quote at the opening quote, an operator
//!   with nothing after it at the operator.
//! * Phrases match on their matching form (`normalize::matching_form`, white space runs as one
//!   space), so a traditional-Chinese or full-width post matches a simplified rule.
//!
//! Printing is canonical: every phrase quoted, a `title:`/`source:` prefix on each scoped leaf,
//! ` & `, ` | `, `!`, and parentheses only where precedence requires them.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use yuqing_core::Hit;

use crate::normalize::matching_form;

/// Deepest nesting of parentheses and `!` a rule may use.
pub const MAX_DEPTH: usize = 100;
/// Largest NEAR distance, in characters.
pub const MAX_NEAR_DISTANCE: u32 = 10_000;

// ---------------------------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------------------------

/// Where a phrase must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Field {
    /// The title or the text.
    Any,
    Title,
    /// The source (site) name.
    Source,
}

/// A parsed watch rule in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Rule {
    /// `text` as written in the rule (not the matching form).
    Phrase {
        field: Field,
        text: String,
    },
    Near {
        field: Field,
        left: String,
        right: String,
        distance: u32,
    },
    Not(Box<Rule>),
    /// At least two children, none of them an `And`.
    And(Vec<Rule>),
    /// At least two children, none of them an `Or`.
    Or(Vec<Rule>),
}

impl Rule {
    /// Binding strength when printed: higher binds tighter.
    fn precedence(&self) -> u8 {
        match self {
            Rule::Or(_) => 1,
            Rule::And(_) => 2,
            Rule::Not(_) => 3,
            Rule::Phrase { .. } | Rule::Near { .. } => 4,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Phrase { field, text } => {
                write_scope(*field, f)?;
                write_quoted(text, f)
            }
            Rule::Near { field, left, right, distance } => {
                write_scope(*field, f)?;
                write_quoted(left, f)?;
                write!(f, " NEAR/{distance} ")?;
                write_quoted(right, f)
            }
            Rule::Not(inner) => {
                f.write_char('!')?;
                write_child(inner, inner.precedence() < 3, f)
            }
            Rule::And(items) => write_joined(items, " & ", 2, f),
            Rule::Or(items) => write_joined(items, " | ", 1, f),
        }
    }
}

fn write_scope(field: Field, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match field {
        Field::Any => Ok(()),
        Field::Title => f.write_str("title:"),
        Field::Source => f.write_str("source:"),
    }
}

fn write_quoted(text: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if c == '\\' || is_quote(c) {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

fn write_child(rule: &Rule, parens: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if parens {
        write!(f, "({rule})")
    } else {
        write!(f, "{rule}")
    }
}

fn write_joined(items: &[Rule], sep: &str, own: u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write_child(item, item.precedence() <= own, f)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an expression is not a valid rule, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("第 {} 个字符处：{message}", .position + 1)]
pub struct ParseError {
    /// 0-based char index into the expression (may equal its length: "at the end").
    pub position: usize,
    pub message: String,
}

/// A named rule that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("监测规则“{rule}”{error}")]
pub struct RuleError {
    pub rule: String,
    pub error: ParseError,
}

fn error(position: usize, message: impl Into<String>) -> ParseError {
    ParseError { position, message: message.into() }
}

const MISSING_OPERATOR: &str = "缺少运算符：两个条件之间应以“&”或“|”连接";
const NEAR_OPERANDS: &str = "NEAR 两侧必须是短语";
const NEAR_DISTANCE: &str = "NEAR/ 后应为距离（字符数）";
const MISSING_RPAREN: &str = "缺少右括号“)”";
const EXTRA_RPAREN: &str = "多余的右括号";

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Phrase(String),
    Near(u32),
    /// A field scope, with the scope as written (for messages).
    Scope(Field, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: Kind,
    /// Char index of the token's first char.
    pos: usize,
}

/// Full-width operators and curly quotes as their ASCII counterparts; other chars unchanged.
fn operator_char(c: char) -> char {
    match c {
        '（' => '(',
        '）' => ')',
        '｜' => '|',
        '＆' => '&',
        '！' => '!',
        '：' => ':',
        '＂' | '“' | '”' => '"',
        _ => c,
    }
}

fn is_quote(c: char) -> bool {
    operator_char(c) == '"'
}

fn ends_bare_word(c: char) -> bool {
    c.is_whitespace() || matches!(operator_char(c), '(' | ')' | '&' | '|' | '!' | '"')
}

fn field_name(word: &str) -> Option<Field> {
    if word.eq_ignore_ascii_case("title") || word == "标题" {
        Some(Field::Title)
    } else if word.eq_ignore_ascii_case("source") || word == "来源" {
        Some(Field::Source)
    } else {
        None
    }
}

fn tokenize(chars: &[char]) -> Result<Vec<Tok>, ParseError> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let kind = match operator_char(c) {
            '(' => Kind::LParen,
            ')' => Kind::RParen,
            '&' => Kind::And,
            '|' => Kind::Or,
            '!' => Kind::Not,
            '"' => {
                let (text, next) = quoted(chars, i)?;
                toks.push(Tok { kind: Kind::Phrase(text), pos: i });
                i = next;
                continue;
            }
            _ => {
                let (kind, next) = bare(chars, i)?;
                toks.push(Tok { kind, pos: i });
                i = next;
                continue;
            }
        };
        toks.push(Tok { kind, pos: i });
        i += 1;
    }
    Ok(toks)
}

/// A quoted phrase starting at `start` (the opening quote); returns it and the index after it.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), ParseError> {
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(error(start, "引号未闭合"));
        };
        if c == '\\' {
            if let Some(&next) = chars.get(i + 1) {
                if next == '\\' || is_quote(next) {
                    text.push(next);
                    i += 2;
                    continue;
                }
            }
        } else if is_quote(c) {
            i += 1;
            break;
        }
        text.push(c);
        i += 1;
    }
    if text.chars().all(char::is_whitespace) {
        return Err(error(start, "空短语"));
    }
    Ok((text, i))
}

/// A bare word (phrase, `NEAR/n` or field scope) starting at `start`.
fn bare(chars: &[char], start: usize) -> Result<(Kind, usize), ParseError> {
    let mut word = String::new();
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        if ends_bare_word(c) {
            break;
        }
        if operator_char(c) == ':' {
            if let Some(field) = field_name(&word) {
                word.push(c);
                return Ok((Kind::Scope(field, word), i + 1));
            }
        }
        word.push(c);
        i += 1;
    }
    Ok((near_or_phrase(word, start)?, i))
}

fn near_or_phrase(word: String, start: usize) -> Result<Kind, ParseError> {
    let Some(rest) = word.strip_prefix("NEAR") else {
        return Ok(Kind::Phrase(word));
    };
    let mut rest = rest.chars();
    match rest.next() {
        None => return Err(error(start, "NEAR 后应紧跟“/距离”，如 NEAR/10")),
        Some('/' | '／') => {}
        // NEARBY and the like are ordinary words.
        Some(_) => return Ok(Kind::Phrase(word)),
    }
    let digits_at = start + 5;
    let mut value: u32 = 0;
    let mut digits = 0usize;
    for (k, c) in rest.enumerate() {
        let digit = match c {
            '0'..='9' => c as u32 - '0' as u32,
            '０'..='９' => c as u32 - '０' as u32,
            _ => return Err(error(digits_at + k, NEAR_DISTANCE)),
        };
        value = value.saturating_mul(10).saturating_add(digit).min(MAX_NEAR_DISTANCE + 1);
        digits += 1;
    }
    if digits == 0 {
        return Err(error(digits_at, NEAR_DISTANCE));
    }
    if value > MAX_NEAR_DISTANCE {
        return Err(error(digits_at, format!("NEAR 距离不能超过 {MAX_NEAR_DISTANCE} 个字符")));
    }
    Ok(Kind::Near(value))
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// Parses one rule expression into its canonical form.
pub fn parse(expr: &str) -> Result<Rule, ParseError> {
    let chars: Vec<char> = expr.chars().collect();
    let toks = tokenize(&chars)?;
    if toks.is_empty() {
        return Err(error(0, "规则为空"));
    }
    let mut parser = Parser { toks: &toks, i: 0, end: chars.len() };
    let rule = parser.or(None, 0)?;
    match parser.peek() {
        Some(t) => Err(unexpected(t)),
        None => Ok(rule),
    }
}

/// A token that cannot follow a complete condition.
fn unexpected(t: &Tok) -> ParseError {
    match t.kind {
        Kind::RParen => error(t.pos, EXTRA_RPAREN),
        Kind::Near(_) => error(t.pos, NEAR_OPERANDS),
        _ => error(t.pos, MISSING_OPERATOR),
    }
}

/// Appends `rule` to the children of an And (`and`) or Or (`!and`), flattening.
fn push_flat(items: &mut Vec<Rule>, rule: Rule, and: bool) {
    match rule {
        Rule::And(inner) if and => items.extend(inner),
        Rule::Or(inner) if !and => items.extend(inner),
        other => items.push(other),
    }
}

fn collapse(mut items: Vec<Rule>, make: fn(Vec<Rule>) -> Rule) -> Rule {
    if items.len() == 1 {
        if let Some(only) = items.pop() {
            return only;
        }
    }
    make(items)
}

struct Parser<'t> {
    toks: &'t [Tok],
    i: usize,
    /// Char count of the expression (the position "at the end").
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn peek_kind(&self) -> Option<&Kind> {
        self.peek().map(|t| &t.kind)
    }

    /// After a binary or prefix operator at `pos`: something must start a condition.
    fn expect_operand(&self, pos: usize, message: &str) -> Result<(), ParseError> {
        match self.peek_kind() {
            None | Some(Kind::RParen | Kind::And | Kind::Or) => Err(error(pos, message)),
            _ => Ok(()),
        }
    }

    fn or(&mut self, scope: Option<Field>, depth: usize) -> Result<Rule, ParseError> {
        let mut items = Vec::new();
        let first = self.and(scope, depth)?;
        push_flat(&mut items, first, false);
        while let Some(Tok { kind: Kind::Or, pos }) = self.peek() {
            let pos = *pos;
            self.i += 1;
            self.expect_operand(pos, "“|”后缺少条件")?;
            let next = self.and(scope, depth)?;
            push_flat(&mut items, next, false);
        }
        Ok(collapse(items, Rule::Or))
    }

    fn and(&mut self, scope: Option<Field>, depth: usize) -> Result<Rule, ParseError> {
        let mut items = Vec::new();
        let first = self.unary(scope, depth)?;
        push_flat(&mut items, first, true);
        while let Some(Tok { kind: Kind::And, pos }) = self.peek() {
            let pos = *pos;
            self.i += 1;
            self.expect_operand(pos, "“&”后缺少条件")?;
            let next = self.unary(scope, depth)?;
            push_flat(&mut items, next, true);
        }
        Ok(collapse(items, Rule::And))
    }

    fn unary(&mut self, scope: Option<Field>, depth: usize) -> Result<Rule, ParseError> {
        if let Some(Tok { kind: Kind::Not, pos }) = self.peek() {
            let pos = *pos;
            if depth >= MAX_DEPTH {
                return Err(error(pos, format!("嵌套过深（最多 {MAX_DEPTH} 层）")));
            }
            self.i += 1;
            self.expect_operand(pos, "“!”后缺少条件")?;
            let inner = self.unary(scope, depth + 1)?;
            return Ok(Rule::Not(Box::new(inner)));
        }
        self.near(scope, depth)
    }

    /// A phrase, a NEAR or a parenthesized group, each optionally scoped.
    fn near(&mut self, scope: Option<Field>, depth: usize) -> Result<Rule, ParseError> {
        let mut scope = scope;
        if let Some(Tok { kind: Kind::Scope(field, written), pos }) = self.peek() {
            let (field, written, pos) = (*field, written.clone(), *pos);
            self.i += 1;
            match self.peek() {
                Some(Tok { kind: Kind::Phrase(_) | Kind::LParen, .. }) => {}
                Some(t) => return Err(error(t.pos, format!("“{written}”后应为短语或括号"))),
                None => return Err(error(pos, format!("“{written}”后缺少短语"))),
            }
            scope = Some(field);
        }
        let Some(tok) = self.peek() else {
            return Err(error(self.end, "缺少条件"));
        };
        let pos = tok.pos;
        match tok.kind.clone() {
            Kind::LParen => {
                if depth >= MAX_DEPTH {
                    return Err(error(pos, format!("嵌套过深（最多 {MAX_DEPTH} 层）")));
                }
                self.i += 1;
                match self.peek_kind() {
                    None => return Err(error(pos, MISSING_RPAREN)),
                    Some(Kind::RParen) => return Err(error(pos, "括号内缺少条件")),
                    _ => {}
                }
                let inner = self.or(scope, depth + 1)?;
                match self.peek() {
                    Some(Tok { kind: Kind::RParen, .. }) => self.i += 1,
                    Some(t) => return Err(unexpected(t)),
                    None => return Err(error(pos, MISSING_RPAREN)),
                }
                if let Some(Tok { kind: Kind::Near(_), pos }) = self.peek() {
                    return Err(error(*pos, NEAR_OPERANDS));
                }
                Ok(inner)
            }
            Kind::Phrase(left) => {
                self.i += 1;
                let field = scope.unwrap_or(Field::Any);
                let Some(Tok { kind: Kind::Near(distance), pos: near_pos }) = self.peek() else {
                    return Ok(Rule::Phrase { field, text: left });
                };
                let (distance, near_pos) = (*distance, *near_pos);
                self.i += 1;
                if let Some(Tok { kind: Kind::Scope(right_field, _), pos }) = self.peek() {
                    if *right_field != field {
                        return Err(error(*pos, "NEAR 两侧的字段限定必须相同，请把字段写在整个 NEAR 之前"));
                    }
                    self.i += 1;
                }
                let right = match self.peek() {
                    Some(Tok { kind: Kind::Phrase(text), .. }) => text.clone(),
                    Some(t) => return Err(error(t.pos, NEAR_OPERANDS)),
                    None => return Err(error(near_pos, NEAR_OPERANDS)),
                };
                self.i += 1;
                if let Some(Tok { kind: Kind::Near(_), pos }) = self.peek() {
                    return Err(error(*pos, NEAR_OPERANDS));
                }
                Ok(Rule::Near { field, left, right, distance })
            }
            Kind::Near(_) => Err(error(pos, NEAR_OPERANDS)),
            Kind::RParen => Err(error(pos, EXTRA_RPAREN)),
            Kind::And => Err(error(pos, "“&”前缺少条件")),
            Kind::Or => Err(error(pos, "“|”前缺少条件")),
            // Not reachable through `unary` (it takes `!` and checks what follows a scope).
            Kind::Not | Kind::Scope(..) => Err(error(pos, "此处应为短语或括号")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled rule set
// ---------------------------------------------------------------------------------------------

/// A watch rule as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleDef {
    pub name: String,
    pub expr: String,
}

/// A document to match; every field already in matching form (`normalize::matching_form`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleDoc<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub source: &'a str,
}

const TITLE: u8 = 0;
const TEXT: u8 = 1;
const SOURCE: u8 = 2;

/// One occurrence of a NEAR phrase: char offsets within its field.
#[derive(Debug, Clone, Copy)]
struct Occ {
    pat: u32,
    field: u8,
    start: usize,
    end: usize,
}

/// What one scan of a document found.
#[derive(Debug, Default)]
struct Found {
    /// Per pattern: bit `1 << field` set when it occurs in that field (empty: nothing found).
    fields: Vec<u8>,
    /// The patterns found, in the order first seen.
    patterns: Vec<u32>,
    /// Occurrences of the patterns used in a NEAR, sorted by (pattern, field, start).
    occ: Vec<Occ>,
}

impl Found {
    fn has(&self, pat: u32, mask: u8) -> bool {
        self.fields.get(pat as usize).is_some_and(|&bits| bits & mask != 0)
    }

    /// The occurrences of `pat` in `field`, sorted by start.
    fn occurrences(&self, pat: u32, field: u8) -> &[Occ] {
        let lo = self.occ.partition_point(|o| (o.pat, o.field) < (pat, field));
        let rest = self.occ.get(lo..).unwrap_or(&[]);
        let n = rest.partition_point(|o| (o.pat, o.field) == (pat, field));
        rest.get(..n).unwrap_or(&[])
    }
}

#[derive(Debug, Clone, Copy)]
enum Leaf {
    Phrase { field: Field, pat: u32 },
    Near { field: Field, left: u32, right: u32, distance: u32 },
}

#[derive(Debug, Clone)]
enum Cond {
    Leaf(Leaf),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

#[derive(Debug, Clone)]
struct Compiled {
    name: String,
    rule: Rule,
    cond: Cond,
    /// Leaves under an even number of `!`, with the phrases they report (ids into `written`).
    positive: Vec<(Leaf, Vec<u32>)>,
}

/// All watch rules compiled into one automaton: a post is scanned once however many rules exist.
#[derive(Clone)]
pub struct RuleSet {
    rules: Vec<Compiled>,
    /// Over the distinct matching forms of all phrases; `None` when there are no rules.
    automaton: Option<AhoCorasick>,
    /// Per pattern: its length in chars.
    pattern_chars: Vec<usize>,
    /// Per pattern: used in a NEAR (its occurrences are recorded with char offsets).
    near_pattern: Vec<bool>,
    /// Per pattern: the rules (ascending) in which it is a positive phrase (or a NEAR's left).
    pattern_rules: Vec<Vec<u32>>,
    /// Rules true when no phrase is present at all (e.g. `!x`): always evaluated.
    always: Vec<u32>,
    /// Distinct phrases as written, in order of first appearance.
    written: Vec<String>,
    /// Some rule looks at the source name.
    scan_source: bool,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
            .field("patterns", &self.pattern_chars.len())
            .finish()
    }
}

/// The pattern a phrase is searched as: white space runs as one space (as in normalized
/// documents), then the matching form.
fn phrase_pattern(text: &str) -> String {
    let mut collapsed = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\u{200b}' | '\u{feff}') {
            if !in_space {
                collapsed.push(' ');
            }
            in_space = true;
        } else {
            collapsed.push(c);
            in_space = false;
        }
    }
    matching_form(&collapsed)
}

/// Pattern bytes up to which the automaton is built as a DFA (fastest scan; its memory grows
/// with the patterns, so larger sets let the library choose).
const DFA_PATTERN_BYTES: usize = 16 * 1024;

fn build_automaton(patterns: &[String]) -> Result<AhoCorasick, aho_corasick::BuildError> {
    let mut builder = AhoCorasick::builder();
    builder.match_kind(MatchKind::Standard);
    if patterns.iter().map(String::len).sum::<usize>() <= DFA_PATTERN_BYTES {
        if let Ok(dfa) = builder.kind(Some(AhoCorasickKind::DFA)).build(patterns) {
            return Ok(dfa);
        }
        builder.kind(None);
    }
    builder.build(patterns)
}

#[derive(Default)]
struct Builder {
    patterns: Vec<String>,
    pattern_ids: HashMap<String, u32>,
    near_pattern: Vec<bool>,
    written: Vec<String>,
    written_ids: HashMap<String, u32>,
    scan_source: bool,
}

impl Builder {
    fn pattern(&mut self, text: &str) -> u32 {
        let pattern = phrase_pattern(text);
        if let Some(&id) = self.pattern_ids.get(&pattern) {
            return id;
        }
        let id = self.patterns.len() as u32;
        self.patterns.push(pattern.clone());
        self.pattern_ids.insert(pattern, id);
        self.near_pattern.push(false);
        id
    }

    fn written(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.written_ids.get(text) {
            return id;
        }
        let id = self.written.len() as u32;
        self.written.push(text.to_string());
        self.written_ids.insert(text.to_string(), id);
        id
    }

    /// Compiles `rule`; positive leaves go to `positive`, their trigger patterns to `triggers`.
    fn cond(
        &mut self,
        rule: &Rule,
        negated: bool,
        positive: &mut Vec<(Leaf, Vec<u32>)>,
        triggers: &mut Vec<u32>,
    ) -> Cond {
        match rule {
            Rule::Phrase { field, text } => {
                self.scan_source |= *field == Field::Source;
                let pat = self.pattern(text);
                let leaf = Leaf::Phrase { field: *field, pat };
                let word = self.written(text);
                if !negated {
                    triggers.push(pat);
                    positive.push((leaf, vec![word]));
                }
                Cond::Leaf(leaf)
            }
            Rule::Near { field, left, right, distance } => {
                self.scan_source |= *field == Field::Source;
                let (l, r) = (self.pattern(left), self.pattern(right));
                for p in [l, r] {
                    if let Some(flag) = self.near_pattern.get_mut(p as usize) {
                        *flag = true;
                    }
                }
                let leaf = Leaf::Near { field: *field, left: l, right: r, distance: *distance };
                let words = vec![self.written(left), self.written(right)];
                if !negated {
                    triggers.push(l);
                    positive.push((leaf, words));
                }
                Cond::Leaf(leaf)
            }
            Rule::Not(inner) => Cond::Not(Box::new(self.cond(inner, !negated, positive, triggers))),
            Rule::And(items) => Cond::And(items.iter().map(|r| self.cond(r, negated, positive, triggers)).collect()),
            Rule::Or(items) => Cond::Or(items.iter().map(|r| self.cond(r, negated, positive, triggers)).collect()),
        }
    }
}

impl RuleSet {
    /// Parses and compiles the rules; the first rule that does not parse is the error.
    pub fn compile(defs: &[RuleDef]) -> Result<RuleSet, RuleError> {
        let mut builder = Builder::default();
        let mut rules = Vec::with_capacity(defs.len());
        let mut rule_triggers = Vec::with_capacity(defs.len());
        for def in defs {
            let rule = parse(&def.expr).map_err(|error| RuleError { rule: def.name.clone(), error })?;
            let mut positive = Vec::new();
            let mut triggers = Vec::new();
            let cond = builder.cond(&rule, false, &mut positive, &mut triggers);
            triggers.sort_unstable();
            triggers.dedup();
            rule_triggers.push(triggers);
            rules.push(Compiled { name: def.name.clone(), rule, cond, positive });
        }
        let automaton = if builder.patterns.is_empty() {
            None
        } else {
            Some(build_automaton(&builder.patterns).map_err(|e| RuleError {
                rule: "（全部规则）".to_string(),
                error: error(0, format!("规则短语过多，无法编译：{e}")),
            })?)
        };
        let mut pattern_rules = vec![Vec::new(); builder.patterns.len()];
        for (index, triggers) in rule_triggers.iter().enumerate() {
            for &pat in triggers {
                if let Some(list) = pattern_rules.get_mut(pat as usize) {
                    list.push(index as u32);
                }
            }
        }
        let nothing = Found::default();
        let always = rules.iter().enumerate().filter(|(_, r)| eval(&r.cond, &nothing)).map(|(i, _)| i as u32).collect();
        Ok(RuleSet {
            rules,
            automaton,
            pattern_chars: builder.patterns.iter().map(|p| p.chars().count()).collect(),
            near_pattern: builder.near_pattern,
            pattern_rules,
            always,
            written: builder.written,
            scan_source: builder.scan_source,
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every distinct phrase as written (for the segmenter's user dictionary).
    pub fn phrases(&self) -> impl Iterator<Item = &str> {
        self.written.iter().map(String::as_str)
    }

    /// The rule names, in definition order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// The parsed rule at `index` (definition order).
    pub fn rule(&self, index: usize) -> Option<&Rule> {
        self.rules.get(index).map(|r| &r.rule)
    }

    /// The rules matched by a document, in definition order, each with the distinct phrases (as
    /// written in the rule) of its positive (non-negated) leaves that were found.
    pub fn matches(&self, doc: &RuleDoc<'_>) -> Vec<Hit> {
        let found = self.scan(doc);
        if found.patterns.is_empty() && self.always.is_empty() {
            return Vec::new();
        }
        // Candidates: rules with a positive phrase found, and rules true with no phrase at all.
        // (A rule is monotone in its positive leaves and antitone in its negated ones, so with
        // no positive leaf true it can only be true if it is true on the empty document.)
        let mut candidates: Vec<u32> = Vec::new();
        for &pat in &found.patterns {
            if let Some(list) = self.pattern_rules.get(pat as usize) {
                candidates.extend_from_slice(list);
            }
        }
        candidates.extend_from_slice(&self.always);
        candidates.sort_unstable();
        candidates.dedup();
        candidates.iter().filter_map(|&r| self.hit(r as usize, &found)).collect()
    }

    /// Whether rule `index` matches the document, with its found phrases; `None` if it does not
    /// match or there is no such rule.
    pub fn matches_rule(&self, index: usize, doc: &RuleDoc<'_>) -> Option<Hit> {
        if index >= self.rules.len() {
            return None;
        }
        let found = self.scan(doc);
        self.hit(index, &found)
    }

    fn hit(&self, index: usize, found: &Found) -> Option<Hit> {
        let rule = self.rules.get(index)?;
        if !eval(&rule.cond, found) {
            return None;
        }
        let mut terms: Vec<String> = Vec::new();
        for (leaf, words) in &rule.positive {
            if !leaf_true(leaf, found) {
                continue;
            }
            for word in words.iter().filter_map(|&w| self.written.get(w as usize)) {
                if !terms.contains(word) {
                    terms.push(word.clone());
                }
            }
        }
        Some(Hit { rule: rule.name.clone(), terms })
    }

    /// Scans the title, the text and (when some rule needs it) the source, once each.
    fn scan(&self, doc: &RuleDoc<'_>) -> Found {
        let mut found = Found::default();
        let Some(automaton) = &self.automaton else {
            return found;
        };
        for (field, hay) in [(TITLE, doc.title), (TEXT, doc.text), (SOURCE, doc.source)] {
            if hay.is_empty() || (field == SOURCE && !self.scan_source) {
                continue;
            }
            let Ok(iter) = automaton.try_find_overlapping_iter(hay) else {
                continue;
            };
            // Matches come in order of their end; chars are counted incrementally, and only up
            // to NEAR phrases.
            let (mut byte, mut chars) = (0usize, 0usize);
            for m in iter {
                let pat = m.pattern().as_usize();
                if found.fields.is_empty() {
                    found.fields = vec![0; self.pattern_chars.len()];
                }
                if let Some(bits) = found.fields.get_mut(pat) {
                    if *bits == 0 {
                        found.patterns.push(pat as u32);
                    }
                    *bits |= 1 << field;
                }
                if !self.near_pattern.get(pat).copied().unwrap_or(false) {
                    continue;
                }
                let at = m.end();
                if at >= byte {
                    chars += hay.get(byte..at).map_or(0, |s| s.chars().count());
                } else {
                    chars = chars.saturating_sub(hay.get(at..byte).map_or(0, |s| s.chars().count()));
                }
                byte = at;
                let len = self.pattern_chars.get(pat).copied().unwrap_or(0);
                found.occ.push(Occ { pat: pat as u32, field, start: chars.saturating_sub(len), end: chars });
            }
        }
        found.occ.sort_unstable_by_key(|o| (o.pat, o.field, o.start));
        found
    }
}

fn field_mask(field: Field) -> u8 {
    match field {
        Field::Any => 1 << TITLE | 1 << TEXT,
        Field::Title => 1 << TITLE,
        Field::Source => 1 << SOURCE,
    }
}

fn eval(cond: &Cond, found: &Found) -> bool {
    match cond {
        Cond::Leaf(leaf) => leaf_true(leaf, found),
        Cond::Not(inner) => !eval(inner, found),
        Cond::And(items) => items.iter().all(|c| eval(c, found)),
        Cond::Or(items) => items.iter().any(|c| eval(c, found)),
    }
}

fn leaf_true(leaf: &Leaf, found: &Found) -> bool {
    match *leaf {
        Leaf::Phrase { field, pat } => found.has(pat, field_mask(field)),
        Leaf::Near { field, left, right, distance } => {
            let mask = field_mask(field);
            if !found.has(left, mask) || !found.has(right, mask) {
                return false;
            }
            [TITLE, TEXT, SOURCE].into_iter().filter(|f| mask & (1 << f) != 0).any(|f| {
                let a = found.occurrences(left, f);
                if left == right {
                    return near_same(a, distance as usize);
                }
                let b = found.occurrences(right, f);
                if a.len() <= b.len() {
                    near(a, b, distance as usize)
                } else {
                    near(b, a, distance as usize)
                }
            })
        }
    }
}

/// Chars between two occurrences (0 when they overlap).
fn gap(x: &Occ, y: &Occ) -> usize {
    y.start.saturating_sub(x.end).max(x.start.saturating_sub(y.end))
}

/// Some occurrence in `a` lies within `n` chars of one in `b`. Both sorted by start; all of `b`
/// have the same length, so for each `x` only the first `b` starting at or after `x.end` and the
/// one before it need checking. O(|a| log |b|).
fn near(a: &[Occ], b: &[Occ], n: usize) -> bool {
    a.iter().any(|x| {
        let i = b.partition_point(|y| y.start < x.end);
        let after = b.get(i).is_some_and(|y| gap(x, y) <= n);
        let before = i.checked_sub(1).and_then(|j| b.get(j)).is_some_and(|y| gap(x, y) <= n);
        after || before
    })
}

/// Two distinct occurrences of one phrase lie within `n` chars: neighbours are the nearest.
fn near_same(a: &[Occ], n: usize) -> bool {
    a.windows(2).any(|w| gap(&w[0], &w[1]) <= n)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;
    use proptest::prelude::*;

    fn p(field: Field, text: &str) -> Rule {
        Rule::Phrase { field, text: text.to_string() }
    }

    fn anywhere(text: &str) -> Rule {
        p(Field::Any, text)
    }

    fn not(rule: Rule) -> Rule {
        Rule::Not(Box::new(rule))
    }

    fn near(field: Field, left: &str, right: &str, distance: u32) -> Rule {
        Rule::Near { field, left: left.to_string(), right: right.to_string(), distance }
    }

    fn err_at(expr: &str) -> (usize, String) {
        match parse(expr) {
            Ok(rule) => panic!("{expr:?} parsed as {rule:?}"),
            Err(e) => (e.position, e.message),
        }
    }

    fn set(rules: &[(&str, &str)]) -> RuleSet {
        let defs: Vec<RuleDef> =
            rules.iter().map(|(n, e)| RuleDef { name: n.to_string(), expr: e.to_string() }).collect();
        RuleSet::compile(&defs).expect("rules compile")
    }

    /// Matches a post given as users write it (normalized here, as the analyzer does).
    fn hits(rules: &RuleSet, title: &str, text: &str, source: &str) -> Vec<Hit> {
        let (title, text, source) = (normalize(title), normalize(text), normalize(source));
        rules.matches(&RuleDoc { title: &title.matching, text: &text.matching, source: &source.matching })
    }

    fn names(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.rule.as_str()).collect()
    }

    // ---- parsing ----

    #[test]
    fn or_binds_looser_than_and() {
        assert_eq!(
            parse("a | b & c"),
            Ok(Rule::Or(vec![anywhere("a"), Rule::And(vec![anywhere("b"), anywhere("c")])]))
        );
        assert_eq!(
            parse("a & b | c"),
            Ok(Rule::Or(vec![Rule::And(vec![anywhere("a"), anywhere("b")]), anywhere("c")]))
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(parse("!a & b"), Ok(Rule::And(vec![not(anywhere("a")), anywhere("b")])));
        assert_eq!(parse("!!a"), Ok(not(not(anywhere("a")))));
        assert_eq!(parse("!(a | b)"), Ok(not(Rule::Or(vec![anywhere("a"), anywhere("b")]))));
    }

    #[test]
    fn parentheses_group_and_same_operators_are_flattened() {
        assert_eq!(
            parse("(a | b) & c"),
            Ok(Rule::And(vec![Rule::Or(vec![anywhere("a"), anywhere("b")]), anywhere("c")]))
        );
        assert_eq!(
            parse("(a & b) & (c & d)"),
            Ok(Rule::And(vec![anywhere("a"), anywhere("b"), anywhere("c"), anywhere("d")]))
        );
        assert_eq!(
            parse("a | (b | c) | d"),
            Ok(Rule::Or(vec![anywhere("a"), anywhere("b"), anywhere("c"), anywhere("d")]))
        );
        assert_eq!(parse("((医院))"), Ok(anywhere("医院")));
    }

    #[test]
    fn bare_words_and_quoted_phrases_are_both_phrases() {
        assert_eq!(parse("医院"), Ok(anywhere("医院")));
        assert_eq!(parse("\"医院\""), Ok(anywhere("医院")));
        assert_eq!(parse("\"食物 中毒\""), Ok(anywhere("食物 中毒")));
        assert_eq!(parse("\"a & b | (c)\""), Ok(anywhere("a & b | (c)")));
        assert_eq!(parse("NEARBY"), Ok(anywhere("NEARBY")));
        assert_eq!(parse("near/5"), Ok(anywhere("near/5")));
    }

    #[test]
    fn escapes_inside_quotes_are_decoded() {
        assert_eq!(parse(r#""他说\"你好\"""#), Ok(anywhere("他说\"你好\"")));
        assert_eq!(parse(r#""a\\b""#), Ok(anywhere("a\\b")));
        assert_eq!(parse(r#""a\nb""#), Ok(anywhere("a\\nb")));
        assert_eq!(parse(r#""\“引号\”""#), Ok(anywhere("“引号”")));
    }

    #[test]
    fn near_takes_two_phrases_and_a_distance() {
        assert_eq!(parse("\"外卖\" NEAR/10 \"变质\""), Ok(near(Field::Any, "外卖", "变质", 10)));
        assert_eq!(parse("外卖 NEAR/0 变质"), Ok(near(Field::Any, "外卖", "变质", 0)));
        assert_eq!(parse("外卖 NEAR/１０ 变质"), Ok(near(Field::Any, "外卖", "变质", 10)));
        assert_eq!(parse("a NEAR/3 b & c"), Ok(Rule::And(vec![near(Field::Any, "a", "b", 3), anywhere("c")])));
    }

    #[test]
    fn near_binds_tighter_than_not() {
        assert_eq!(parse("!a NEAR/3 b"), Ok(not(near(Field::Any, "a", "b", 3))));
    }

    #[test]
    fn title_and_source_scopes_apply_to_a_phrase_or_a_near() {
        assert_eq!(parse("title:\"过期食品\""), Ok(p(Field::Title, "过期食品")));
        assert_eq!(parse("source:人民网"), Ok(p(Field::Source, "人民网")));
        assert_eq!(parse("title:a NEAR/5 b"), Ok(near(Field::Title, "a", "b", 5)));
        assert_eq!(parse("title:a NEAR/5 title:b"), Ok(near(Field::Title, "a", "b", 5)));
        assert_eq!(parse("Title: a"), Ok(p(Field::Title, "a")));
    }

    #[test]
    fn a_scope_on_a_group_is_pushed_down_and_the_innermost_wins() {
        assert_eq!(parse("title:(医院 | 学校)"), Ok(Rule::Or(vec![p(Field::Title, "医院"), p(Field::Title, "学校")])));
        assert_eq!(
            parse("title:(a & !(b | source:c) & x NEAR/2 y)"),
            Ok(Rule::And(vec![
                p(Field::Title, "a"),
                not(Rule::Or(vec![p(Field::Title, "b"), p(Field::Source, "c")])),
                near(Field::Title, "x", "y", 2),
            ]))
        );
    }

    #[test]
    fn chinese_field_aliases_are_accepted() {
        assert_eq!(parse("标题:医院"), Ok(p(Field::Title, "医院")));
        assert_eq!(parse("来源：人民网"), Ok(p(Field::Source, "人民网")));
        assert_eq!(parse("标题：（医院｜学校）"), Ok(Rule::Or(vec![p(Field::Title, "医院"), p(Field::Title, "学校")])));
    }

    #[test]
    fn a_colon_stays_in_a_bare_word_unless_it_follows_a_field_name() {
        assert_eq!(parse("http://example.com"), Ok(anywhere("http://example.com")));
        assert_eq!(parse("时间:今天"), Ok(anywhere("时间:今天")));
    }

    #[test]
    fn full_width_operators_and_curly_quotes_work_like_ascii() {
        assert_eq!(parse("（医院｜学校）＆！招生"), parse("(医院 | 学校) & !招生"));
        assert_eq!(parse("“食物中毒”"), Ok(anywhere("食物中毒")));
        assert_eq!(parse("＂食物中毒＂"), Ok(anywhere("食物中毒")));
        // Positions count chars, whatever their width.
        assert_eq!(err_at("（医院＆").0, 3);
    }

    #[test]
    fn the_example_rules_parse() {
        for expr in [
            "(医院 | 卫健委 | 医生) & (纠纷 | 投诉 | 医闹 | 误诊 | 死亡)",
            "(学校 | 学生 | 幼儿园) & (霸凌 | 食物中毒 | 受伤 | 安全事故) & !招生简章",
            "\"食物中毒\" | (\"外卖\" NEAR/10 \"变质\") | (\"餐厅\" NEAR/10 \"异物\") | title:\"过期食品\"",
            "谣言 | 辟谣 | 造谣 | \"不实信息\"",
        ] {
            let rule = parse(expr).expect(expr);
            assert_eq!(parse(&rule.to_string()), Ok(rule));
        }
    }

    #[test]
    fn printing_is_canonical_with_minimal_parentheses() {
        let show = |e: &str| parse(e).map(|r| r.to_string()).unwrap_or_else(|e| e.to_string());
        assert_eq!(show("a | b & c"), r#""a" | "b" & "c""#);
        assert_eq!(show("(a | b) & !(c & d)"), r#"("a" | "b") & !("c" & "d")"#);
        assert_eq!(show("title:(a | b) & source:c"), r#"(title:"a" | title:"b") & source:"c""#);
        assert_eq!(show("!标题：x NEAR/3 y"), r#"!title:"x" NEAR/3 "y""#);
        assert_eq!(show(r#""say \"hi\"" | a\b"#), r#""say \"hi\"" | "a\\b""#);
        assert_eq!(show("!!a"), r#"!!"a""#);
    }

    #[test]
    fn a_missing_right_parenthesis_is_reported_at_the_opening_one() {
        assert_eq!(err_at("(医院 & 纠纷"), (0, MISSING_RPAREN.to_string()));
        assert_eq!(err_at("a & ((b) | c"), (4, MISSING_RPAREN.to_string()));
        assert_eq!(err_at("("), (0, MISSING_RPAREN.to_string()));
    }

    #[test]
    fn an_extra_right_parenthesis_is_reported_where_it_stands() {
        assert_eq!(err_at("(a)) & b"), (3, EXTRA_RPAREN.to_string()));
        assert_eq!(err_at(")"), (0, EXTRA_RPAREN.to_string()));
        assert_eq!(err_at("()").1, "括号内缺少条件");
    }

    #[test]
    fn an_operator_without_an_operand_is_reported_at_the_operator() {
        assert_eq!(err_at("医院 &"), (3, "“&”后缺少条件".to_string()));
        assert_eq!(err_at("a | )"), (2, "“|”后缺少条件".to_string()));
        assert_eq!(err_at("a & !"), (4, "“!”后缺少条件".to_string()));
        assert_eq!(err_at("& a"), (0, "“&”前缺少条件".to_string()));
        assert_eq!(err_at("a & | b"), (2, "“&”后缺少条件".to_string()));
        assert_eq!(err_at("a ＆"), (2, "“&”后缺少条件".to_string()));
    }

    #[test]
    fn two_conditions_without_an_operator_are_an_error() {
        assert_eq!(err_at("医院 纠纷"), (3, MISSING_OPERATOR.to_string()));
        assert_eq!(err_at("(a) !b"), (4, MISSING_OPERATOR.to_string()));
    }

    #[test]
    fn near_errors_are_specific() {
        assert_eq!(err_at("(a | b) NEAR/3 c"), (8, NEAR_OPERANDS.to_string()));
        assert_eq!(err_at("a NEAR/3 (b)"), (9, NEAR_OPERANDS.to_string()));
        assert_eq!(err_at("a NEAR/3"), (2, NEAR_OPERANDS.to_string()));
        assert_eq!(err_at("NEAR/3 b"), (0, NEAR_OPERANDS.to_string()));
        assert_eq!(err_at("a NEAR/3 b NEAR/3 c"), (11, NEAR_OPERANDS.to_string()));
        assert_eq!(err_at("a NEAR/ b"), (7, NEAR_DISTANCE.to_string()));
        assert_eq!(err_at("a NEAR/5x b"), (8, NEAR_DISTANCE.to_string()));
        assert_eq!(err_at("a NEAR/99999999999999 b").1, "NEAR 距离不能超过 10000 个字符");
        assert_eq!(err_at("a NEAR b").0, 2);
        assert_eq!(err_at("a NEAR/3 source:b").0, 9);
        assert_eq!(parse("a NEAR/10000 b"), Ok(near(Field::Any, "a", "b", 10_000)));
    }

    #[test]
    fn empty_phrases_unclosed_quotes_and_empty_rules_are_errors() {
        assert_eq!(err_at("a | \"\""), (4, "空短语".to_string()));
        assert_eq!(err_at("\"  \""), (0, "空短语".to_string()));
        assert_eq!(err_at("a & \"医院"), (4, "引号未闭合".to_string()));
        assert_eq!(err_at("a & “医院\\”"), (4, "引号未闭合".to_string()));
        assert_eq!(err_at(""), (0, "规则为空".to_string()));
        assert_eq!(err_at("  \u{3000} "), (0, "规则为空".to_string()));
    }

    #[test]
    fn a_scope_needs_a_phrase_or_a_group() {
        assert_eq!(err_at("title:"), (0, "“title:”后缺少短语".to_string()));
        assert_eq!(err_at("a & 标题：!b"), (7, "“标题：”后应为短语或括号".to_string()));
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_an_error_not_a_crash() {
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok), Ok(anywhere("a")));
        let deep = format!("{}a{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert_eq!(err_at(&deep), (MAX_DEPTH, format!("嵌套过深（最多 {MAX_DEPTH} 层）")));
        let nots = format!("{}a", "!".repeat(100_000));
        assert_eq!(err_at(&nots).0, MAX_DEPTH);
        let mixed = "(!".repeat(10_000);
        assert!(parse(&mixed).is_err());
    }

    #[test]
    fn error_messages_count_chars_from_one_and_name_the_rule() {
        let e = parse("(医院 & 纠纷").unwrap_err();
        assert_eq!(e.to_string(), "第 1 个字符处：缺少右括号“)”");
        let defs = vec![
            RuleDef { name: "好".into(), expr: "a".into() },
            RuleDef { name: "医疗纠纷".into(), expr: "医院 &".into() },
        ];
        let e = RuleSet::compile(&defs).unwrap_err();
        assert_eq!(e.rule, "医疗纠纷");
        assert_eq!(e.to_string(), "监测规则“医疗纠纷”第 4 个字符处：“&”后缺少条件");
    }

    // ---- matching ----

    #[test]
    fn and_or_not_combine() {
        let rules = set(&[("校园安全", "(学校 | 幼儿园) & (霸凌 | 食物中毒) & !招生简章")]);
        assert_eq!(names(&hits(&rules, "", "某学校发生食物中毒", "")), ["校园安全"]);
        assert_eq!(names(&hits(&rules, "幼儿园", "霸凌事件", "")), ["校园安全"]);
        assert!(hits(&rules, "", "某学校发生火灾", "").is_empty());
        assert!(hits(&rules, "招生简章", "某学校食物中毒演练", "").is_empty());
    }

    #[test]
    fn a_traditional_post_matches_a_simplified_rule() {
        let rules = set(&[("医疗纠纷", "医院 & 纠纷")]);
        let h = hits(&rules, "", "某醫院發生醫療糾紛", "");
        assert_eq!(h, vec![Hit { rule: "医疗纠纷".into(), terms: vec!["医院".into(), "纠纷".into()] }]);
        // And a traditional or full-width rule matches a simplified post.
        let rules = set(&[("繁体", "醫院 & ＡＢＣ")]);
        assert_eq!(names(&hits(&rules, "", "医院 abc", "")), ["繁体"]);
    }

    #[test]
    fn near_matches_within_n_chars_in_either_order() {
        let rules = set(&[("近", "外卖 NEAR/3 变质")]);
        assert_eq!(names(&hits(&rules, "", "外卖已经变质了", "")), ["近"]); // 2 chars between
        assert_eq!(names(&hits(&rules, "", "外卖一二三变质", "")), ["近"]); // exactly 3
        assert_eq!(names(&hits(&rules, "", "变质的外卖", "")), ["近"]); // other order
        assert_eq!(names(&hits(&rules, "", "外卖变质", "")), ["近"]); // adjacent
        let overlap = set(&[("重叠", "医院 NEAR/0 院长")]);
        assert_eq!(names(&hits(&overlap, "", "医院长", "")), ["重叠"]);
    }

    #[test]
    fn near_does_not_match_beyond_n_chars() {
        let rules = set(&[("近", "外卖 NEAR/3 变质")]);
        assert!(hits(&rules, "", "外卖一二三四变质", "").is_empty());
        assert!(hits(&rules, "", "变质一二三四外卖", "").is_empty());
        // Distances are in chars, not bytes: 3 CJK chars are 9 bytes.
        let ascii = set(&[("ascii", "ab NEAR/3 cd")]);
        assert_eq!(names(&hits(&ascii, "", "ab中文字cd", "")), ["ascii"]);
        assert!(hits(&ascii, "", "ab中文字四cd", "").is_empty());
        // Two occurrences of one phrase must be distinct.
        let same = set(&[("同", "医院 NEAR/2 医院")]);
        assert!(hits(&same, "", "一家医院", "").is_empty());
        assert_eq!(names(&hits(&same, "", "医院与医院", "")), ["同"]);
    }

    #[test]
    fn near_does_not_cross_fields() {
        let rules = set(&[("近", "外卖 NEAR/3 变质"), ("标题近", "title:外卖 NEAR/3 变质")]);
        assert!(hits(&rules, "外卖", "变质", "").is_empty());
        assert_eq!(names(&hits(&rules, "外卖变质", "", "")), ["近", "标题近"]);
        assert_eq!(names(&hits(&rules, "", "外卖变质", "")), ["近"]);
    }

    #[test]
    fn title_scope_only_matches_the_title() {
        let rules = set(&[("食品", "title:\"过期食品\"")]);
        assert_eq!(names(&hits(&rules, "超市出售过期食品", "", "")), ["食品"]);
        assert!(hits(&rules, "超市", "出售过期食品", "").is_empty());
        assert!(hits(&rules, "", "", "过期食品网").is_empty());
    }

    #[test]
    fn source_scope_matches_the_source_and_plain_phrases_do_not() {
        let rules = set(&[("人民网", "source:人民网 & 医院"), ("提到人民网", "人民网")]);
        assert_eq!(names(&hits(&rules, "医院", "", "人民网")), ["人民网"]);
        assert!(hits(&rules, "医院", "", "新华网").is_empty());
        assert_eq!(names(&hits(&rules, "医院", "据人民网报道", "新华网")), ["提到人民网"]);
    }

    #[test]
    fn terms_are_the_found_positive_phrases_as_written() {
        let rules = set(&[("r", "(醫院 | 学校 | 医院) & !招生 & (纠纷 | 外卖 NEAR/2 变质) & !!投诉")]);
        let h = hits(&rules, "医院投诉", "外卖变质纠纷", "");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].terms, ["醫院", "医院", "纠纷", "外卖", "变质", "投诉"]);
        // A NEAR whose phrases are too far apart reports neither.
        let h = hits(&rules, "医院投诉", "外卖一二三变质纠纷", "");
        assert_eq!(h[0].terms, ["醫院", "医院", "纠纷", "投诉"]);
    }

    #[test]
    fn a_rule_of_only_a_negation_matches_docs_without_the_word() {
        let rules = set(&[("无广告", "!广告"), ("医院", "医院")]);
        assert_eq!(hits(&rules, "", "", ""), vec![Hit { rule: "无广告".into(), terms: vec![] }]);
        assert_eq!(names(&hits(&rules, "医院", "", "")), ["无广告", "医院"]);
        assert!(hits(&rules, "广告", "", "").is_empty());
    }

    #[test]
    fn overlapping_and_nested_phrases_are_all_found() {
        let rules = set(&[("全", "食物中毒 & 中毒 & 物中")]);
        let h = hits(&rules, "", "食物中毒", "");
        assert_eq!(h[0].terms, ["食物中毒", "中毒", "物中"]);
    }

    #[test]
    fn two_hundred_rules_compile_into_one_set_and_match() {
        let defs: Vec<RuleDef> = (0..200)
            .map(|i| RuleDef {
                name: format!("规则{i}"), expr: format!("词{i}号 & (甲 | 乙{i}) & !排除{i}号")
            })
            .collect();
        let rules = RuleSet::compile(&defs).expect("compile");
        assert_eq!(rules.len(), 200);
        assert_eq!(names(&hits(&rules, "", "词7号 甲", "")), ["规则7"]);
        assert_eq!(names(&hits(&rules, "", "词150号 乙150 词199号 甲", "")), ["规则150", "规则199"]);
        assert!(hits(&rules, "", "词150号 乙150 排除150号", "").is_empty());
        assert!(hits(&rules, "", "词42号 乙43", "").is_empty());
        let all: String = (0..200).map(|i| format!("词{i}号 ")).collect::<String>() + "甲";
        assert_eq!(hits(&rules, "", &all, "").len(), 200);
    }

    #[test]
    fn phrases_and_names_are_listed_once_in_order() {
        let rules = set(&[("一", "医院 & title:医院 & 醫院"), ("二", "a NEAR/3 \"医院\"")]);
        assert_eq!(rules.phrases().collect::<Vec<_>>(), ["医院", "醫院", "a"]);
        assert_eq!(rules.names().collect::<Vec<_>>(), ["一", "二"]);
        assert_eq!(rules.rule(1), Some(&near(Field::Any, "a", "医院", 3)));
        assert!(!rules.is_empty());
    }

    #[test]
    fn matches_rule_evaluates_one_rule() {
        let rules = set(&[("一", "医院"), ("二", "学校")]);
        let doc = RuleDoc { title: "医院", text: "学校", source: "" };
        assert_eq!(rules.matches_rule(1, &doc), Some(Hit { rule: "二".into(), terms: vec!["学校".into()] }));
        assert_eq!(rules.matches_rule(2, &doc), None);
        assert_eq!(rules.matches_rule(0, &RuleDoc::default()), None);
    }

    #[test]
    fn an_empty_rule_set_matches_nothing() {
        let rules = RuleSet::compile(&[]).expect("empty");
        assert!(rules.is_empty());
        assert!(rules.matches(&RuleDoc { title: "a", text: "b", source: "c" }).is_empty());
    }

    #[test]
    fn a_rule_set_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuleSet>();
    }

    // ---- properties ----

    fn phrase_text() -> impl Strategy<Value = String> {
        let pieces = vec![
            "医", "院", "纠纷", "醫", "a", "Z", " ", "\"", "\\", "&", "|", "!", "(", ")", "（", "）", "｜", "“", "”",
            "＂", ":", "：", "NEAR", "NEAR/5", "title:", "source:", "标题:", "\\\"", "x",
        ];
        prop::collection::vec(prop::sample::select(pieces), 1..5)
            .prop_map(|v| v.concat())
            .prop_filter("not blank", |s| !s.chars().all(char::is_whitespace))
    }

    fn field() -> impl Strategy<Value = Field> {
        prop::sample::select(vec![Field::Any, Field::Title, Field::Source])
    }

    fn join(items: Vec<Rule>, and: bool) -> Rule {
        let mut flat = Vec::new();
        for item in items {
            push_flat(&mut flat, item, and);
        }
        if and {
            Rule::And(flat)
        } else {
            Rule::Or(flat)
        }
    }

    fn canonical_rule() -> impl Strategy<Value = Rule> {
        let leaf = prop_oneof![
            (field(), phrase_text()).prop_map(|(field, text)| Rule::Phrase { field, text }),
            (field(), phrase_text(), phrase_text(), 0..=MAX_NEAR_DISTANCE)
                .prop_map(|(field, left, right, distance)| Rule::Near { field, left, right, distance }),
        ];
        leaf.prop_recursive(5, 40, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|r| Rule::Not(Box::new(r))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|v| join(v, true)),
                prop::collection::vec(inner, 2..4).prop_map(|v| join(v, false)),
            ]
        })
    }

    fn operator_soup() -> impl Strategy<Value = String> {
        let pieces = vec![
            "a",
            "医院",
            " ",
            "&",
            "|",
            "!",
            "(",
            ")",
            "（",
            "）",
            "\"",
            "“",
            "\\",
            "NEAR/",
            "NEAR/3",
            "3",
            "title:",
            "来源：",
            ":",
            "！",
            "＆",
        ];
        prop::collection::vec(prop::sample::select(pieces), 0..20).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_printed_rule_parses_back_to_itself(rule in canonical_rule()) {
            let printed = rule.to_string();
            prop_assert_eq!(parse(&printed), Ok(rule), "printed: {}", printed);
        }

        #[test]
        fn parse_never_panics_on_arbitrary_text(expr in any::<String>()) {
            if let Ok(rule) = parse(&expr) {
                prop_assert_eq!(parse(&rule.to_string()), Ok(rule));
            }
        }

        #[test]
        fn parse_never_panics_on_operator_soup_and_errors_point_inside(expr in operator_soup()) {
            match parse(&expr) {
                Ok(rule) => prop_assert_eq!(parse(&rule.to_string()), Ok(rule)),
                Err(e) => prop_assert!(e.position <= expr.chars().count()),
            }
        }

        #[test]
        fn near_agrees_with_counting_every_pair(
            text in prop::collection::vec(prop::sample::select(vec!['a', 'b', '醫', '医', 'x']), 0..30),
            n in 0u32..6,
            same in any::<bool>(),
        ) {
            let text: String = text.into_iter().collect();
            let (left, right) = if same { ("ab", "ab") } else { ("ab", "b医") };
            let expr = format!("{left} NEAR/{n} {right}");
            let rules = set(&[("r", expr.as_str())]);
            let matching = matching_form(&text);
            let chars: Vec<char> = matching.chars().collect();
            let find = |w: &str| -> Vec<(usize, usize)> {
                let w: Vec<char> = w.chars().collect();
                (0..chars.len()).filter(|&i| chars[i..].starts_with(&w)).map(|i| (i, i + w.len())).collect()
            };
            let (a, b) = (find(left), find(right));
            let expected = a.iter().any(|&(s1, e1)| b.iter().any(|&(s2, e2)| {
                if same && s1 == s2 { return false; }
                let gap = if e1 <= s2 { s2 - e1 } else { s1.saturating_sub(e2) };
                gap <= n as usize
            }));
            let doc = RuleDoc { title: "", text: &matching, source: "" };
            prop_assert_eq!(!rules.matches(&doc).is_empty(), expected);
            let in_title = RuleDoc { title: &matching, text: "", source: &matching };
            prop_assert_eq!(!rules.matches(&in_title).is_empty(), expected);
        }
    }
}
